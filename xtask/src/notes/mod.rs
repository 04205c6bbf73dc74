//! The map from the examples of the five seed notes to the demos that reproduce them.
//!
//! The notes are read from `../shared/seeds` beside the workspace (`NNN_*.txt`); the
//! examples in them are found by [`parse`]; the demos say which examples they reproduce in
//! their own `//! Example:` header lines ([`crate::header`]); the few examples no demo
//! reproduces yet are in [`tables::WAITING`] with the chapter they wait on. [`map`] puts the
//! three together, prints the map (`cargo xtask demos --list`) and lists every mismatch,
//! which the tests turn into failures.

pub(crate) mod map;
pub(crate) mod parse;
pub(crate) mod tables;

use std::path::{Path, PathBuf};

use crate::meta::workspace_root;

/// One seed note and its examples.
#[derive(Debug)]
pub(crate) struct Note {
    /// The seed's number, e.g. `001`.
    pub(crate) seed: String,
    /// The note's file name, e.g. `001_b7e459d9906f1c69.txt`.
    pub(crate) file: String,
    pub(crate) text: String,
    pub(crate) examples: Vec<parse::NoteExample>,
}

/// Where the seed notes live: `$SKEIN_SEEDS` if set, else `shared/seeds` beside the
/// workspace — or beside a folder above it, for a git worktree nested one level deeper
/// (`/work/wt/NAME` finds `/work/shared/seeds`). If none exists, the path beside the
/// workspace, whose absence [`load_notes`] then reports.
pub(crate) fn seeds_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SKEIN_SEEDS") {
        return PathBuf::from(dir);
    }
    let root = workspace_root();
    root.ancestors()
        .skip(1)
        .map(|dir| dir.join("shared").join("seeds"))
        .find(|dir| dir.is_dir())
        .unwrap_or_else(|| root.join("..").join("shared").join("seeds"))
}

/// Reads every `NNN_*.txt` note of `dir`, in seed order. Fails if there is none.
pub(crate) fn load_notes(dir: &Path) -> Result<Vec<Note>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        format!(
            "cannot read the seed notes in {}: {e} (they live in shared/seeds beside the workspace)",
            dir.display()
        )
    })?;
    let mut notes = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(seed) = file
            .strip_suffix(".txt")
            .and_then(|stem| stem.get(..3))
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let text = std::fs::read_to_string(entry.path())
            .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
        notes.push(Note {
            seed: seed.to_string(),
            examples: parse::examples(seed, &text),
            file,
            text,
        });
    }
    if notes.is_empty() {
        return Err(format!("no seed notes (NNN_*.txt) in {}", dir.display()));
    }
    notes.sort_by(|a, b| a.seed.cmp(&b.seed));
    Ok(notes)
}
