//! SVG charts drawn with plotters (SVG backend only): one horizontal bar chart per
//! chapter (every implementation's time relative to skein's, log scale when the range
//! needs it) and one speedup chart for the scenarios.

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::collect::Results;
use super::verdict::{self, title};
use super::workload::{Family, Workload, chapter_of, times};

/// One bar: its label on the left, its value, its colour family and the text at its end.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) label: String,
    pub(crate) value: f64,
    pub(crate) family: Family,
    pub(crate) note: String,
}

const WIDTH: u32 = 760;
const LABEL_AREA: u32 = 300;
const ROW_HEIGHT: u32 = 20;
/// Longest label, in characters, that fits the label area at 12 px.
const LABEL_CHARS: usize = 44;
/// Empty rows at the bottom of a chart, for the legend.
const LEGEND_ROWS: usize = 4;

fn colour(family: Family) -> RGBColor {
    match family {
        Family::Skein => RGBColor(0xd9, 0x48, 0x0f),
        Family::RustPeer => RGBColor(0x1c, 0x7e, 0xd6),
        Family::Python => RGBColor(0x2b, 0x8a, 0x3e),
    }
}

fn shorten(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        label.to_string()
    } else {
        let cut: String = label.chars().take(LABEL_CHARS - 1).collect();
        format!("{cut}…")
    }
}

/// Whether values spanning `lo..=hi` need a log axis to stay readable.
pub(crate) fn needs_log(lo: f64, hi: f64) -> bool {
    hi / lo > 20.0
}

/// The rows of a chapter's chart: each workload's implementations, time ÷ skein's time.
pub(crate) fn chapter_rows(results: &Results, chapter: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for w in Workload::all(results).filter(|w| chapter_of(w.group) == chapter) {
        let Some((_, reference)) = w.reference() else {
            continue;
        };
        let name = w.name();
        let short = name.split_once('/').map_or(name.as_str(), |(_, rest)| rest);
        for (function, ns) in w.ordered() {
            let ratio = ns / reference;
            rows.push(Row {
                label: format!("{short} · {function}"),
                value: ratio,
                family: Family::of(function),
                note: times(ratio),
            });
        }
    }
    rows
}

/// The rows of the speedup chart: every scenario model's speedup over sequential.
pub(crate) fn speedup_rows(results: &Results) -> Vec<Row> {
    let mut rows = Vec::new();
    for w in Workload::all(results).filter(|w| chapter_of(w.group) == "scenarios") {
        let mut name = title(w.group);
        if !w.parameter.is_empty() {
            name += &format!(" [{}]", w.parameter);
        }
        for s in verdict::speedups(&w) {
            let side = if s.python { "CPython" } else { "Rust" };
            rows.push(Row {
                label: format!("{name} · {side} {}", s.label),
                value: s.speedup,
                family: Family::of(&s.function),
                note: times(s.speedup),
            });
        }
    }
    rows
}

/// A horizontal bar chart as an SVG document; `None` when there is nothing to draw.
/// `reference` draws a vertical line (at 1×: skein's time, or sequential's).
pub(crate) fn bar_chart(caption: &str, axis: &str, rows: &[Row], reference: f64) -> Option<String> {
    let n = rows.len();
    if n == 0 {
        return None;
    }
    let lo = rows.iter().map(|r| r.value).fold(reference, f64::min);
    let hi = rows.iter().map(|r| r.value).fold(reference, f64::max);
    let log = needs_log(lo, hi);
    let (x0, x1) = if log {
        (lo.log10().floor(), hi.log10() + 0.45)
    } else {
        (0.0, hi * 1.22)
    };
    let x = |v: f64| if log { v.log10() } else { v };
    // Empty rows under the bars hold the legend, so it never covers a bar.
    let rows_drawn = n + LEGEND_ROWS;
    let height = 110 + ROW_HEIGHT * rows_drawn as u32;
    let mut svg = String::new();
    let drawn: Result<(), Box<dyn std::error::Error>> = (|| {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 17))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(LABEL_AREA)
            .build_cartesian_2d(x0..x1, (0..rows_drawn).into_segmented())?;
        let axis = if log {
            format!("{axis} (log scale)")
        } else {
            axis.to_string()
        };
        // Row k of `rows` is drawn at segment `y(k)`, top to bottom.
        let label = |i: usize| {
            (rows_drawn - 1)
                .checked_sub(i)
                .and_then(|k| rows.get(k))
                .map(|r| shorten(&r.label))
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .max_light_lines(1)
            .y_labels(rows_drawn)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => label(*i).unwrap_or_default(),
                _ => String::new(),
            })
            // One tick per decade on a log axis (1×, 10×, 100×), about 8 otherwise.
            .x_labels(if log {
                (x1 - x0).ceil() as usize + 1
            } else {
                8
            })
            .x_label_formatter(&|v| {
                let value = if log { 10f64.powf(*v) } else { *v };
                times(value)
            })
            .x_desc(axis)
            .label_style(("sans-serif", 12))
            .draw()?;
        let start = if log { x0 } else { 0.0 };
        for family in [Family::Skein, Family::RustPeer, Family::Python] {
            let bars: Vec<_> = rows
                .iter()
                .enumerate()
                .filter(|(_, r)| r.family == family)
                .map(|(i, r)| {
                    let y = rows_drawn - 1 - i;
                    let mut rect = Rectangle::new(
                        [
                            (start, SegmentValue::Exact(y)),
                            (x(r.value), SegmentValue::Exact(y + 1)),
                        ],
                        colour(family).filled(),
                    );
                    rect.set_margin(3, 3, 0, 0);
                    rect
                })
                .collect();
            if bars.is_empty() {
                continue;
            }
            chart
                .draw_series(bars)?
                .label(family.label())
                .legend(move |(lx, ly)| {
                    Rectangle::new([(lx, ly - 5), (lx + 12, ly + 5)], colour(family).filled())
                });
        }
        let note_style = ("sans-serif", 11)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center));
        chart.draw_series(rows.iter().enumerate().map(|(i, r)| {
            EmptyElement::at((x(r.value), SegmentValue::CenterOf(rows_drawn - 1 - i)))
                + Text::new(r.note.clone(), (4, 0), note_style.clone())
        }))?;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![
                (x(reference), SegmentValue::Exact(LEGEND_ROWS)),
                (x(reference), SegmentValue::Exact(rows_drawn)),
            ],
            BLACK.stroke_width(1),
        )))?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .label_font(("sans-serif", 12))
            .draw()?;
        root.present()?;
        Ok(())
    })();
    match drawn {
        Ok(()) => Some(svg),
        Err(e) => {
            eprintln!("xtask report: chart `{caption}` could not be drawn: {e}");
            None
        }
    }
}

/// Every chart of the report: (file stem, caption, SVG), chapters in order, then the
/// scenarios' speedups.
pub(crate) fn all(results: &Results) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for (chapter, heading) in super::workload::CHAPTERS {
        if *chapter == "scenarios" {
            continue;
        }
        let caption = format!("{heading}: time relative to skein");
        if let Some(svg) = bar_chart(
            &caption,
            "time ÷ skein's time (longer = slower)",
            &chapter_rows(results, chapter),
            1.0,
        ) {
            out.push((chapter.to_string(), caption, svg));
        }
    }
    let caption = "Scenarios: speedup over sequential".to_string();
    if let Some(svg) = bar_chart(
        &caption,
        "sequential time ÷ time (longer = faster)",
        &speedup_rows(results),
        1.0,
    ) {
        out.push(("scenarios".to_string(), caption, svg));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::collect::{read_criterion, read_python};
    use crate::report::fixture;

    fn fixture_results() -> Results {
        let dir = tempfile::tempdir().unwrap();
        let (criterion, python) = fixture::write_all(dir.path());
        let mut r = Results::new();
        read_criterion(&criterion, &mut r, None);
        read_python(&python, &mut r).unwrap();
        r
    }

    #[test]
    fn log_scale_only_when_the_range_needs_it() {
        assert!(!needs_log(0.9, 1.5));
        assert!(needs_log(1.0, 70.0));
        assert!(!needs_log(0.5, 9.0));
    }

    #[test]
    fn chapter_rows_are_ratios_to_skein() {
        let r = fixture_results();
        let rows = chapter_rows(&r, "locks");
        let lock = |f: &str| {
            rows.iter()
                .find(|row| row.label == format!("uncontended_lock · {f}"))
                .unwrap()
        };
        assert_eq!(lock("skein").value, 1.0);
        assert!((lock("cpython").value - 250.0 / 4.9).abs() < 1e-9);
        assert_eq!(lock("cpython").family, Family::Python);
        // hub groups are drawn in chapter 6.
        assert!(
            chapter_rows(&r, "coroutine")
                .iter()
                .any(|row| row.label.starts_with("sleep_10k_10ms"))
        );
    }

    #[test]
    fn every_chart_is_an_svg_with_one_bar_per_row() {
        let r = fixture_results();
        let charts = all(&r);
        let stems: Vec<&str> = charts.iter().map(|(s, _, _)| s.as_str()).collect();
        assert_eq!(
            stems,
            [
                "threads",
                "locks",
                "queue",
                "pool",
                "process",
                "coroutine",
                "scenarios"
            ]
        );
        for (stem, _, svg) in &charts {
            assert!(
                svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
                "{stem}"
            );
            let rows = if stem == "scenarios" {
                speedup_rows(&r).len()
            } else {
                chapter_rows(&r, stem).len()
            };
            // Each bar is one filled <rect> (plus the background, the legend box and
            // its three swatches at most).
            let rects = svg.matches("<rect").count();
            assert!(
                rects > rows && rects <= rows + 6,
                "{stem}: {rects} rects for {rows} rows"
            );
        }
        let scenarios = &charts.last().unwrap().2;
        assert!(scenarios.contains("CPU-bound (primes) · CPython processes"));
        assert!(
            scenarios.contains("1.82×"),
            "the speedup is written at the bar's end"
        );
    }
}
