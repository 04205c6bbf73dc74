//! What an example's leading `//!` comment says about it: its title, its seed, its time
//! bound, and which examples of the notes it reproduces (`Example:` lines).

use std::time::Duration;

/// The leading `//!` comment of a demo, read.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Header {
    /// First line: what the demo shows.
    pub(crate) title: String,
    /// The `Seed:` line, without the label (free text, shown when the demo runs).
    pub(crate) seed: Option<String>,
    /// The `Time bound: N s` line.
    pub(crate) bound: Option<Duration>,
    /// The `Example: NNN § SECTION — KEY` lines: examples of the notes this demo reproduces.
    pub(crate) examples: Vec<Claim>,
    /// `Example:` lines that could not be read, with the reason.
    pub(crate) bad_lines: Vec<String>,
}

/// One `Example:` line: the demo reproduces the example of seed `seed` that the note
/// titles `section` and whose code has a line containing `key` (if given).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Claim {
    /// The seed file's number, e.g. `001`.
    pub(crate) seed: String,
    /// The note's title for the example, e.g. `多进程` or `案例12`.
    pub(crate) section: String,
    /// Text from one line of the example's code, to tell apart examples of one section.
    pub(crate) key: Option<String>,
}

impl std::fmt::Display for Claim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} § {}", self.seed, self.section)?;
        if let Some(key) = &self.key {
            write!(f, " — {key}")?;
        }
        Ok(())
    }
}

/// Reads `NNN § SECTION — KEY` (the part after `Example:`; the key is optional and may be
/// separated by ` -- ` instead of the em dash, and wrapped in backticks).
pub(crate) fn parse_claim(text: &str) -> Result<Claim, String> {
    let text = text.trim();
    let (seed, rest) = text
        .split_once('§')
        .ok_or_else(|| format!("`{text}`: expected `NNN § SECTION — KEY`"))?;
    let seed = seed.trim();
    if seed.len() != 3 || !seed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "`{text}`: the seed must be its three-digit number, e.g. 001"
        ));
    }
    let (section, key) = match rest.split_once(" — ").or_else(|| rest.split_once(" -- ")) {
        Some((section, key)) => (section, Some(key)),
        None => (rest, None),
    };
    let section = collapse_spaces(section);
    if section.is_empty() {
        return Err(format!("`{text}`: the section title is empty"));
    }
    let key = key.map(unquote).filter(|k| !k.is_empty());
    Ok(Claim {
        seed: seed.to_string(),
        section,
        key,
    })
}

/// Trims `text` and joins its runs of whitespace into one space.
pub(crate) fn collapse_spaces(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Trims `text` and strips one pair of surrounding backticks or double quotes.
fn unquote(text: &str) -> String {
    let text = text.trim();
    for quote in ['`', '"'] {
        if let Some(inner) = text.strip_prefix(quote).and_then(|t| t.strip_suffix(quote)) {
            return inner.trim().to_string();
        }
    }
    text.to_string()
}

pub(crate) fn parse_header(source: &str) -> Header {
    let mut header = Header::default();
    for line in source.lines() {
        let Some(text) = line.trim_start().strip_prefix("//!") else {
            if line.trim().is_empty() {
                continue;
            }
            break;
        };
        let text = text.trim();
        let lower = text.to_ascii_lowercase();
        // The labels are ASCII, so a byte offset into `lower` is one into `text`.
        let after = |label: &str| {
            lower
                .strip_prefix(label)
                .map(|rest| &text[text.len() - rest.len()..])
        };
        if let Some(rest) = after("seeds:").or_else(|| after("seed:")) {
            header.seed = Some(rest.trim().to_string());
        } else if let Some(rest) = after("example:") {
            match parse_claim(rest) {
                Ok(claim) => header.examples.push(claim),
                Err(why) => header.bad_lines.push(why),
            }
        } else if let Some(rest) = lower.strip_prefix("time bound:") {
            let seconds = rest.trim().trim_end_matches('s').trim();
            header.bound = seconds.parse::<u64>().ok().map(Duration::from_secs);
        } else if header.title.is_empty() && !text.is_empty() {
            header.title = text.to_string();
        }
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_reads_title_seed_and_bound() {
        let source = "//! Sing and dance at once.\n//!\n//! Seed: 000 (多任务)\n//! Time bound: 20 s\n//! More words.\n\nfn main() {}\n";
        let header = parse_header(source);
        assert_eq!(header.title, "Sing and dance at once.");
        assert_eq!(header.seed.as_deref(), Some("000 (多任务)"));
        assert_eq!(header.bound, Some(Duration::from_secs(20)));
        assert!(header.examples.is_empty());
    }

    #[test]
    fn header_stops_at_code() {
        let header = parse_header("fn main() {}\n//! not a header\n");
        assert_eq!(header, Header::default());
    }

    #[test]
    fn header_reads_example_lines() {
        let source = "//! Two processes.\n//! Seed: 000 (进程)\n//! Example: 000 § 进程 — p1 = Process(target=coding)\n//! example: 004 §  案例12 \n//! Example: 001 § 回收 -- `gevent.joinall([`\n//! Example: 1 § x\n//! Example: 001 多进程\n";
        let header = parse_header(source);
        assert_eq!(
            header.examples,
            vec![
                Claim {
                    seed: "000".into(),
                    section: "进程".into(),
                    key: Some("p1 = Process(target=coding)".into()),
                },
                Claim {
                    seed: "004".into(),
                    section: "案例12".into(),
                    key: None,
                },
                Claim {
                    seed: "001".into(),
                    section: "回收".into(),
                    key: Some("gevent.joinall([".into()),
                },
            ]
        );
        assert_eq!(header.bad_lines.len(), 2, "{:?}", header.bad_lines);
        assert_eq!(header.title, "Two processes.");
    }
}
