//! Putting notes, demo headers and the waiting table together: the map, and its mismatches.

use std::fmt::Write as _;

use crate::CHAPTERS;
use crate::header::{Header, collapse_spaces, parse_header};
use crate::meta::workspace_root;

use super::tables::{REFERENCE, Reference, SPLITS, WAITING, Waiting};
use super::{Note, load_notes, seeds_dir};

/// A demo: `crates/<chapter>/examples/<name>.rs` and its header.
#[derive(Debug)]
pub(crate) struct Demo {
    pub(crate) chapter: &'static str,
    pub(crate) name: String,
    pub(crate) header: Header,
}

impl Demo {
    fn label(&self) -> String {
        format!("{}/{}", self.chapter, self.name)
    }
}

/// Every chapter's demos, in chapter order, read from `crates/<chapter>/examples/*.rs`.
pub(crate) fn scan_demos() -> Result<Vec<Demo>, String> {
    let mut demos = Vec::new();
    for &chapter in CHAPTERS {
        let dir = workspace_root()
            .join("crates")
            .join(chapter)
            .join("examples");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue; // the chapter has no crate, or no demos, yet
        };
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .collect();
        files.sort();
        for path in files {
            let source = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            demos.push(Demo {
                chapter,
                name: path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                header: parse_header(&source),
            });
        }
    }
    Ok(demos)
}

/// The chapter's number in the notes' order (threads = 1 … coroutine = 6).
fn chapter_number(chapter: &str) -> usize {
    CHAPTERS
        .iter()
        .position(|c| *c == chapter)
        .map_or(0, |i| i + 1)
}

/// What became of one example of the notes.
#[derive(Debug)]
pub(crate) enum Status {
    /// Reproduced by these demos (indices into [`Map::demos`]).
    Claimed(Vec<usize>),
    /// No demo yet: waiting on a chapter.
    Waiting(&'static Waiting),
    /// A reference block (an API list), not an example.
    Reference(&'static Reference),
    /// Neither claimed nor waiting: a mismatch.
    Missing,
}

/// The map: every example of every note with its status, and every mismatch found.
#[derive(Debug)]
pub(crate) struct Map {
    pub(crate) notes: Vec<Note>,
    pub(crate) demos: Vec<Demo>,
    /// `status[n][e]`: the status of example `e` of note `n`.
    pub(crate) status: Vec<Vec<Status>>,
    pub(crate) problems: Vec<String>,
}

/// Finds the one example of seed `seed` titled `section` with a code line containing
/// `key`: `(note index, example index)`.
fn resolve(
    notes: &[Note],
    seed: &str,
    section: &str,
    key: Option<&str>,
) -> Result<(usize, usize), String> {
    let n = notes
        .iter()
        .position(|note| note.seed == seed)
        .ok_or_else(|| format!("there is no seed {seed}"))?;
    let section = collapse_spaces(section);
    let in_section: Vec<usize> = (0..notes[n].examples.len())
        .filter(|&e| notes[n].examples[e].section == section)
        .collect();
    if in_section.is_empty() {
        let mut titles: Vec<&str> = notes[n]
            .examples
            .iter()
            .map(|e| e.section.as_str())
            .collect();
        titles.dedup();
        return Err(format!(
            "seed {seed} has no example titled «{section}» (its titles: {})",
            titles.join(", ")
        ));
    }
    let matching: Vec<usize> = in_section
        .iter()
        .copied()
        .filter(|&e| key.is_none_or(|k| notes[n].examples[e].has_line_with(k)))
        .collect();
    match (matching.as_slice(), key) {
        ([e], _) => Ok((n, *e)),
        ([], Some(key)) => Err(format!(
            "no example of seed {seed} § {section} has a line containing «{key}»"
        )),
        (_, _) => Err(format!(
            "seed {seed} § {section} holds {} examples: add a key (text from one of its lines) that names one",
            matching.len().max(in_section.len())
        )),
    }
}

/// Builds the map of `notes` and `demos` against the tables.
pub(crate) fn build(notes: Vec<Note>, demos: Vec<Demo>) -> Map {
    let mut problems = Vec::new();
    let mut claims: Vec<Vec<Vec<usize>>> = notes
        .iter()
        .map(|n| vec![Vec::new(); n.examples.len()])
        .collect();
    let mut waiting: Vec<Vec<Option<&'static Waiting>>> =
        notes.iter().map(|n| vec![None; n.examples.len()]).collect();
    let mut reference: Vec<Vec<Option<&'static Reference>>> =
        notes.iter().map(|n| vec![None; n.examples.len()]).collect();

    for &(seed, line) in SPLITS {
        let found = notes
            .iter()
            .any(|n| n.seed == seed && n.text.lines().any(|l| l.trim() == line));
        if !found {
            problems.push(format!(
                "xtask/src/notes/tables.rs: SPLITS names «{line}», which is not a line of seed {seed}"
            ));
        }
    }
    for (d, demo) in demos.iter().enumerate() {
        for why in &demo.header.bad_lines {
            problems.push(format!("demo {}: bad `Example:` line: {why}", demo.label()));
        }
        for claim in &demo.header.examples {
            match resolve(&notes, &claim.seed, &claim.section, claim.key.as_deref()) {
                Ok((n, e)) => claims[n][e].push(d),
                Err(why) => {
                    problems.push(format!("demo {}: `Example: {claim}`: {why}", demo.label()))
                }
            }
        }
    }
    for r in REFERENCE {
        match resolve(&notes, r.seed, r.section, Some(r.key)) {
            Ok((n, e)) => reference[n][e] = Some(r),
            Err(why) => problems.push(format!("xtask/src/notes/tables.rs: REFERENCE: {why}")),
        }
    }
    for w in WAITING {
        if chapter_number(w.chapter) == 0 {
            problems.push(format!(
                "xtask/src/notes/tables.rs: WAITING {} § {}: no chapter named `{}`",
                w.seed, w.section, w.chapter
            ));
        }
        match resolve(&notes, w.seed, w.section, Some(w.key)) {
            Ok((n, e)) if waiting[n][e].is_some() => problems.push(format!(
                "xtask/src/notes/tables.rs: WAITING lists {} § {} — {} twice",
                w.seed, w.section, w.key
            )),
            Ok((n, e)) => waiting[n][e] = Some(w),
            Err(why) => problems.push(format!("xtask/src/notes/tables.rs: WAITING: {why}")),
        }
    }

    let mut status = Vec::new();
    for (n, note) in notes.iter().enumerate() {
        let mut row = Vec::new();
        for (e, example) in note.examples.iter().enumerate() {
            let claimed = std::mem::take(&mut claims[n][e]);
            let place = format!(
                "seed {} line {} § {} ({})",
                note.seed,
                example.line,
                example.section,
                example.first_line()
            );
            let by = || {
                claimed
                    .iter()
                    .map(|&d| demos[d].label())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            row.push(match (claimed.is_empty(), waiting[n][e], reference[n][e]) {
                (_, Some(_), Some(_)) => {
                    problems.push(format!("{place} is both WAITING and REFERENCE"));
                    Status::Missing
                }
                (false, Some(w), None) => {
                    problems.push(format!(
                        "{place} is claimed by {} — delete its WAITING entry (key «{}») from xtask/src/notes/tables.rs",
                        by(),
                        w.key
                    ));
                    Status::Claimed(claimed)
                }
                (false, None, Some(_)) => {
                    problems.push(format!(
                        "{place} is claimed by {} but listed as REFERENCE (not an example)",
                        by()
                    ));
                    Status::Claimed(claimed)
                }
                (false, None, None) => Status::Claimed(claimed),
                (true, Some(w), None) => Status::Waiting(w),
                (true, None, Some(r)) => Status::Reference(r),
                (true, None, None) => {
                    problems.push(format!(
                        "{place}: no demo reproduces it (`//! Example: {} § {}` in a demo) and it is not listed as WAITING",
                        note.seed, example.section
                    ));
                    Status::Missing
                }
            });
        }
        status.push(row);
    }
    Map {
        notes,
        demos,
        status,
        problems,
    }
}

/// Loads the notes and the demos and builds their map.
pub(crate) fn load() -> Result<Map, String> {
    let notes = load_notes(&seeds_dir())?;
    let demos = scan_demos()?;
    Ok(build(notes, demos))
}

/// Counts of the map: examples, reproduced, waiting, reference blocks.
#[derive(Debug, PartialEq)]
pub(crate) struct Counts {
    pub(crate) examples: usize,
    pub(crate) claimed: usize,
    pub(crate) waiting: usize,
    pub(crate) reference: usize,
}

impl Map {
    pub(crate) fn counts(&self) -> Counts {
        let all = self.status.iter().flatten();
        let count = |f: fn(&Status) -> bool| all.clone().filter(|s| f(s)).count();
        Counts {
            examples: count(|s| !matches!(s, Status::Reference(_))),
            claimed: count(|s| matches!(s, Status::Claimed(_))),
            waiting: count(|s| matches!(s, Status::Waiting(_))),
            reference: count(|s| matches!(s, Status::Reference(_))),
        }
    }

    /// One sentence on what the demos cover, as README states it: "54 of the notes' 63
    /// examples have a demo that reproduces them; 9 wait on parts of chapters not built yet (…)."
    pub(crate) fn coverage(&self) -> String {
        let c = self.counts();
        if c.waiting == 0 {
            return format!(
                "All {} examples of the notes have a demo that reproduces them.",
                c.examples
            );
        }
        let mut per_chapter: Vec<(usize, &str, usize)> = Vec::new();
        for s in self.status.iter().flatten() {
            if let Status::Waiting(w) = s {
                match per_chapter.iter_mut().find(|(_, c, _)| *c == w.chapter) {
                    Some(entry) => entry.2 += 1,
                    None => per_chapter.push((chapter_number(w.chapter), w.chapter, 1)),
                }
            }
        }
        per_chapter.sort();
        let waits: Vec<String> = per_chapter
            .iter()
            .map(|(n, name, k)| format!("chapter {n} {name}: {k}"))
            .collect();
        format!(
            "{} of the notes' {} examples have a demo that reproduces them; {} wait on parts of chapters not built yet ({}).",
            c.claimed,
            c.examples,
            c.waiting,
            waits.join(", ")
        )
    }

    /// The map as text: per note, every example with its demos or what it waits on.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Every example of the notes ({}) and the demo that reproduces it.",
            seeds_dir().display()
        );
        let _ = writeln!(
            out,
            "Run one with `cargo xtask demos --chapter CHAPTER --only NAME`, or read it in crates/CHAPTER/examples/NAME.rs."
        );
        for (n, note) in self.notes.iter().enumerate() {
            let _ = writeln!(
                out,
                "\n{}\nseed {}  ({})",
                "═".repeat(78),
                note.seed,
                note.file
            );
            for (e, example) in note.examples.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "\n  line {:<4} § {}   {}",
                    example.line,
                    example.section,
                    example.first_line()
                );
                match &self.status[n][e] {
                    Status::Claimed(demos) => {
                        for &d in demos {
                            let demo = &self.demos[d];
                            let _ = writeln!(
                                out,
                                "             ✓ {}/{}   (chapter {} {}) {}",
                                demo.chapter,
                                demo.name,
                                chapter_number(demo.chapter),
                                demo.chapter,
                                demo.header.title
                            );
                        }
                    }
                    Status::Waiting(w) => {
                        let _ = writeln!(
                            out,
                            "             … waiting on chapter {} ({}): {}",
                            chapter_number(w.chapter),
                            w.chapter,
                            w.what
                        );
                    }
                    Status::Reference(r) => {
                        let _ = writeln!(
                            out,
                            "             · an API list, not an example: see {}",
                            r.see
                        );
                    }
                    Status::Missing => {
                        let _ = writeln!(out, "             ✗ no demo, and not listed as waiting");
                    }
                }
            }
        }
        let others: Vec<String> = self
            .demos
            .iter()
            .filter(|d| d.header.examples.is_empty())
            .map(|d| format!("  {}/{} — {}", d.chapter, d.name, d.header.title))
            .collect();
        if !others.is_empty() {
            let _ = writeln!(
                out,
                "\n{}\ndemos beyond the notes' examples (a topic of the notes, or skein's own):",
                "═".repeat(78)
            );
            for line in others {
                let _ = writeln!(out, "{line}");
            }
        }
        let _ = writeln!(
            out,
            "\n{}\n{} ({} reference blocks, API lists, beside them)",
            "═".repeat(78),
            self.coverage(),
            self.counts().reference
        );
        if !self.problems.is_empty() {
            let _ = writeln!(out, "\n{} mismatches:", self.problems.len());
            for p in &self.problems {
                let _ = writeln!(out, "  - {p}");
            }
        }
        out
    }
}

/// `cargo xtask demos --list`: prints the map; fails if it has mismatches.
pub(crate) fn list() -> Result<(), String> {
    let map = load()?;
    print!("{}", map.render());
    if map.problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the map has {} mismatches (listed above)",
            map.problems.len()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notes::parse;

    fn note(seed: &str, text: &str) -> Note {
        Note {
            seed: seed.to_string(),
            file: format!("{seed}_test.txt"),
            text: text.to_string(),
            examples: parse::examples(seed, text),
        }
    }

    fn demo(name: &str, header: &str) -> Demo {
        Demo {
            chapter: "threads",
            name: name.to_string(),
            header: parse_header(header),
        }
    }

    #[test]
    fn resolve_needs_a_key_only_when_a_section_holds_several_examples() {
        let notes = vec![note(
            "009",
            "## 多进程\n\n```python\nimport mp\np = mp.Process(target=test)\n```\n\n```python\nimport mp\nclass MyProcess(mp.Process):\n```\n\n## 协程\n\n```python\ndef work1():\n```\n",
        )];
        assert_eq!(resolve(&notes, "009", "协程", None), Ok((0, 2)));
        assert_eq!(
            resolve(&notes, "009", "多进程", Some("class MyProcess")),
            Ok((0, 1))
        );
        assert!(resolve(&notes, "009", "多进程", None).is_err());
        assert!(resolve(&notes, "009", "多进程", Some("import mp")).is_err());
        assert!(resolve(&notes, "009", "多进程", Some("greenlet")).is_err());
        assert!(resolve(&notes, "009", "线程", None).is_err());
        assert!(resolve(&notes, "008", "协程", None).is_err());
    }

    #[test]
    fn every_mismatch_is_reported() {
        let notes = vec![note(
            "009",
            "## 一\n\n```python\na = 1\n```\n\n## 二\n\n```python\nb = 2\n```\n\n## 三\n\n```python\nc = 3\n```\n",
        )];
        let demos = vec![
            demo("01_a", "//! A.\n//! Example: 009 § 一 — a = 1\n"),
            demo(
                "02_b",
                "//! B.\n//! Example: 009 § 二\n//! Example: 009 § 四\n",
            ),
            demo("03_none", "//! Nothing.\n"),
        ];
        let map = build(notes, demos);
        assert!(matches!(map.status[0][0], Status::Claimed(ref d) if d == &[0]));
        assert!(matches!(map.status[0][1], Status::Claimed(ref d) if d == &[1]));
        // § 三 is neither claimed nor waiting (the real WAITING names other seeds).
        assert!(matches!(map.status[0][2], Status::Missing));
        let text = map.problems.join("\n");
        assert!(text.contains("no example titled «四»"), "{text}");
        assert!(
            text.contains("§ 三 (c = 3): no demo reproduces it"),
            "{text}"
        );
        let rendered = map.render();
        assert!(rendered.contains("✓ threads/01_a"), "{rendered}");
        assert!(
            rendered.contains("threads/03_none — Nothing."),
            "{rendered}"
        );
    }

    /// The real notes, demos and tables agree: every header names an example that exists,
    /// every example is reproduced by a demo or waits on a chapter, no waiting entry is
    /// claimed. The notes must be there (shared/seeds beside the workspace): a missing
    /// folder fails this test rather than skipping it.
    #[test]
    fn every_example_of_the_notes_is_mapped() {
        let map = load().unwrap_or_else(|why| panic!("the seed notes are required: {why}"));
        assert!(
            map.problems.is_empty(),
            "{} mismatches between notes, demo headers and xtask/src/notes/tables.rs:\n  - {}",
            map.problems.len(),
            map.problems.join("\n  - ")
        );
        let seeds: Vec<&str> = map.notes.iter().map(|n| n.seed.as_str()).collect();
        assert_eq!(seeds, ["000", "001", "002", "003", "004"]);
        let per_note: Vec<usize> = map.notes.iter().map(|n| n.examples.len()).collect();
        // Code blocks (with the two split ones) and, in seed 004, its 22 cases; two of
        // the blocks (000 线程常用方法, 001 apply/apply_async) are API lists.
        assert_eq!(per_note, [12, 22, 7, 2, 22]);
        let c = map.counts();
        assert_eq!(c.examples, 63);
        assert_eq!(c.reference, 2);
        assert_eq!(c.claimed + c.waiting, c.examples);
    }

    /// README states the coverage the map counts, word for word, so it cannot claim more.
    #[test]
    fn readme_states_what_the_demos_cover() {
        let map = load().unwrap_or_else(|why| panic!("the seed notes are required: {why}"));
        let readme = std::fs::read_to_string(workspace_root().join("README.md"))
            .expect("README.md at the workspace root");
        let sentence = map.coverage();
        assert!(
            collapse_spaces(&readme).contains(&sentence),
            "README.md must say what the demos cover, as `cargo xtask demos --list` counts it:\n  {sentence}"
        );
    }
}
