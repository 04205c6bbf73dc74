//! The report page, opened in a real browser: `cargo xtask report` is run on fixture
//! data (no bench run needed), the page is loaded in headless Chromium at a phone's
//! width with a small script that measures every chart's SVG, and the test asserts the
//! charts rendered (a real size, their bars and labels laid out) and that the page does
//! not overflow the screen sideways.
//!
//! Chromium comes from Debian's `chromium` package (`.ci/chromium` installs it). Without
//! it the test prints a loud note and passes, except under CI (`CI` set), where a
//! missing browser is a failure.

#[path = "../src/report/fixture.rs"]
mod fixture;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The script the test appends to a copy of the page: it writes its measurements into
/// the DOM, which `--dump-dom` then prints.
const PROBE: &str = r#"<script>
const charts = [...document.querySelectorAll('figure.chart')].map(f => {
  const svg = f.querySelector('svg');
  const box = svg.getBoundingClientRect();
  const shown = el => { const b = el.getBoundingClientRect(); return b.width >= 1 && b.height >= 1; };
  return {
    id: f.id,
    width: box.width,
    height: box.height,
    rects: [...svg.querySelectorAll('rect')].filter(shown).length,
    texts: [...svg.querySelectorAll('text')].filter(t => t.getBBox().width > 0).length,
  };
});
const pre = document.createElement('pre');
pre.id = 'probe';
pre.textContent = JSON.stringify({
  charts, innerWidth: window.innerWidth, scrollWidth: document.documentElement.scrollWidth,
});
document.body.appendChild(pre);
</script>"#;

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SKEIN_CHROMIUM") {
        return Some(p.into());
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |dir| dir.join(name)))
        .find(|p| p.is_file())
}

fn run_report(dir: &Path) -> PathBuf {
    let (criterion, python) = fixture::write_all(dir);
    let out = dir.join("report");
    let status = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["report", "--criterion"])
        .arg(&criterion)
        .arg("--python")
        .arg(&python)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "xtask report failed: {status}");
    out.join("index.html")
}

/// Runs Chromium on `page` at `width`×`height` and returns the probe's JSON.
fn probe(
    browser: &Path,
    page: &Path,
    profile: &Path,
    width: u32,
    height: u32,
) -> serde_json::Value {
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut s).unwrap();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dom = reader.join().unwrap();
    let start = dom.find("<pre id=\"probe\">").expect("the probe ran") + "<pre id=\"probe\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let json = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap()
}

#[test]
fn report_page_renders_its_charts_in_chromium() {
    let Some(browser) = chromium() else {
        let msg = "\n\n!!! chromium not found: the report page was NOT checked in a browser.\n\
                   !!! Install it with `.ci/chromium` (Debian's `chromium` package).\n";
        assert!(
            std::env::var_os("CI").is_none(),
            "{msg}(CI is set: this is a failure)"
        );
        eprintln!("{msg}");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let index = run_report(dir.path());
    let html = std::fs::read_to_string(&index).unwrap();
    let checked = index.with_file_name("probe.html");
    std::fs::write(
        &checked,
        html.replace("</body>", &format!("{PROBE}\n</body>")),
    )
    .unwrap();

    // A phone (390 px wide) and a laptop.
    for (width, height) in [(390, 844), (1280, 900)] {
        let profile = dir.path().join(format!("profile-{width}"));
        let result = probe(&browser, &checked, &profile, width, height);
        let charts = result["charts"].as_array().unwrap();
        let ids: Vec<&str> = charts.iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            [
                "chart-scenarios",
                "chart-threads",
                "chart-locks",
                "chart-queue",
                "chart-pool",
                "chart-process",
                "chart-coroutine"
            ],
            "at {width} px"
        );
        let inner = result["innerWidth"].as_f64().unwrap();
        for c in charts {
            let (w, h) = (c["width"].as_f64().unwrap(), c["height"].as_f64().unwrap());
            assert!(
                w >= 0.8 * inner.min(960.0) - 40.0 && w <= inner,
                "{c} at {width} px"
            );
            assert!(h >= 80.0, "{c} at {width} px");
            // At least three bars and their labels were laid out.
            assert!(c["rects"].as_u64().unwrap() >= 4, "{c} at {width} px");
            assert!(c["texts"].as_u64().unwrap() >= 6, "{c} at {width} px");
        }
        // Wide tables scroll inside their own box; the page itself does not.
        assert!(
            result["scrollWidth"].as_f64().unwrap() <= inner,
            "page overflows sideways at {width} px: {result}"
        );
    }
    if let Some(keep) = std::env::var_os("SKEIN_REPORT_KEEP") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        for f in ["index.html", "index.md"] {
            std::fs::copy(index.with_file_name(f), keep.join(f)).unwrap();
        }
    }
}
