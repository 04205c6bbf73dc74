//! `index.html`: one self-contained page (styles and SVG charts inline, nothing fetched
//! from the network) that reads on a phone: a viewport, fluid charts, tables that scroll
//! sideways inside their own box.

use std::fmt::Write as _;

use super::Report;
use super::tables::{self, Table};

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Inline code spans (`like this`) of the verdict sentences as `<code>`.
fn with_code(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in escape(s).split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

const STYLE: &str = r#"
:root { --fg: #1d1d1f; --muted: #5f6368; --line: #d0d7de; --bg: #ffffff; --head: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 60rem; padding: 1rem; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 1.6rem; } h2 { font-size: 1.3rem; margin-top: 2rem; border-bottom: 1px solid var(--line); }
p.note { color: var(--muted); }
figure.chart { margin: 1rem 0; }
figure.chart svg { display: block; width: 100%; height: auto; }
figure.chart figcaption { color: var(--muted); font-size: .9rem; }
.scroll { overflow-x: auto; -webkit-overflow-scrolling: touch; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; font-size: .9rem; min-width: 100%; }
th, td { padding: .3rem .6rem; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; vertical-align: top; }
th { background: var(--head); position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.met td.status { color: #1a7f37; } tr.missed td.status { color: #cf222e; font-weight: 600; }
ul.verdict li { margin: .4rem 0; }
code { font-size: .9em; background: var(--head); padding: 0 .2em; border-radius: 3px; }
nav a { margin-right: .8rem; white-space: nowrap; }
@media (max-width: 40rem) { body { padding: .6rem; font-size: 15px; } th, td { padding: .25rem .4rem; } }
"#;

fn table(t: &Table, class_of_row: impl Fn(&[String]) -> &'static str) -> String {
    let mut out = String::from("<div class=\"scroll\"><table>\n<thead><tr>");
    for h in &t.headers {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &t.rows {
        let _ = write!(out, "<tr class=\"{}\">", class_of_row(row));
        for (i, cell) in row.iter().enumerate() {
            let mut class = String::new();
            if t.numeric.get(i).copied().unwrap_or(false) {
                class.push_str("num");
            }
            if t.headers.get(i) == Some(&"status") {
                class.push_str(" status");
            }
            let _ = write!(out, "<td class=\"{}\">{}</td>", class.trim(), escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
    out
}

fn chart(r: &Report, stem: &str) -> String {
    r.charts
        .iter()
        .find(|(s, _, _)| s == stem)
        .map(|(s, caption, svg)| {
            format!(
                "<figure class=\"chart\" id=\"chart-{s}\">\n{svg}\n<figcaption>{}</figcaption>\n</figure>\n",
                escape(caption)
            )
        })
        .unwrap_or_default()
}

/// The whole `index.html`.
pub(crate) fn page(r: &Report) -> String {
    let (met, measured) = r.tally();
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>skein benchmark report</title>\n<style>",
    );
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<h1>skein benchmark report</h1>\n<nav>");
    // A space between links lets the line wrap on a narrow screen.
    out.push_str("<a href=\"#scenarios\">scenarios</a> <a href=\"#bars\">bars</a> ");
    for (chapter, heading) in r.chapters() {
        if chapter != "scenarios" {
            let _ = write!(out, "<a href=\"#{chapter}\">{}</a> ", escape(heading));
        }
    }
    out.push_str(
        "</nav>\n<p class=\"note\">Mean time per iteration from criterion (Rust) and from \
        <code>benches/python/</code> (CPython). Ratios are taken within one run on this machine. \
        <em>× skein's time</em> is an implementation's time divided by skein's fastest entry in \
        the same workload: above 1, skein is faster.</p>\n",
    );
    if r.python_rows == 0 {
        out.push_str(
            "<p class=\"note\"><strong>No CPython figures:</strong> run \
            <code>cargo xtask bench --python</code> for the CPython column.</p>\n",
        );
    }

    out.push_str("<h2 id=\"scenarios\">The notes' question: which model for which work</h2>\n");
    if r.scenario_verdicts.is_empty() {
        out.push_str(
            "<p>No scenario results (<code>cargo xtask bench --chapter scenarios</code>).</p>\n",
        );
    } else {
        out.push_str("<ul class=\"verdict\">\n");
        for v in &r.scenario_verdicts {
            let _ = writeln!(out, "<li>{}</li>", with_code(v));
        }
        out.push_str("</ul>\n");
        out.push_str(&chart(r, "scenarios"));
        out.push_str(&table(&tables::scenarios(&r.results), |_| ""));
    }

    let _ = writeln!(
        out,
        "<h2 id=\"bars\">SPEC.md's bars</h2>\n<p><strong>{met} of {measured}</strong> measured bars met.</p>"
    );
    if let Some(note) = r.stale_note() {
        let _ = writeln!(out, "<p>{}</p>", with_code(&note));
    }
    out.push_str(&table(&tables::bars(&r.verdicts), |row| {
        match row.first().map(String::as_str) {
            Some(s) if s.ends_with("met") => "met",
            Some(s) if s.ends_with("missed") => "missed",
            _ => "",
        }
    }));

    for (chapter, heading) in r.chapters() {
        if chapter == "scenarios" {
            continue;
        }
        let _ = writeln!(out, "<h2 id=\"{chapter}\">{}</h2>", escape(heading));
        out.push_str(&chart(r, chapter));
        out.push_str(&table(&tables::chapter(&r.results, chapter), |_| ""));
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Paths, Report, fixture};

    fn fixture_page() -> String {
        let dir = tempfile::tempdir().unwrap();
        let (criterion, python) = fixture::write_all(dir.path());
        let paths = Paths {
            criterion,
            python,
            out: dir.path().join("out"),
        };
        page(&Report::build(&paths).unwrap())
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
        assert_eq!(with_code("run `x<y`"), "run <code>x&lt;y</code>");
    }

    #[test]
    fn page_is_self_contained_and_fits_a_phone() {
        let html = fixture_page();
        assert!(html.contains("<meta name=\"viewport\" content=\"width=device-width"));
        // Nothing is fetched: no scripts, stylesheets, images or fonts from anywhere;
        // the only URL is the SVG namespace.
        for needle in ["<script", "<link", "<img", "@import", "url("] {
            assert!(!html.contains(needle), "page contains {needle}");
        }
        let urls = html.matches("http").count();
        let namespaces = html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count();
        assert_eq!(urls, namespaces, "a URL other than the SVG namespace");
        assert_eq!(html.matches("<figure class=\"chart\"").count(), 7);
        assert_eq!(html.matches("<div class=\"scroll\">").count(), 8);
        // Function ids with markup characters are escaped in the tables.
        assert!(html.contains("Generator::next"));
        assert!(html.contains("<tr class=\"missed\">") && html.contains("<tr class=\"met\">"));
    }
}
