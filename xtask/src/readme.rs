//! The README's `Python → skein` section keeps no copy of the chapters' tables: each table
//! lives once, in its crate's top-level docs, and the README links to it. The test below
//! (run by `cargo test --workspace`) keeps it that way.

#[cfg(test)]
mod tests {
    use std::fs;

    use crate::meta::workspace_root;

    /// The README's `## Python → skein` section, up to the next `## ` heading.
    fn readme_section(readme: &str) -> &str {
        let start = readme
            .find("## Python → skein")
            .expect("README.md has a `## Python → skein` section");
        let body = &readme[start + 3..];
        let end = body.find("\n## ").map_or(body.len(), |i| i + 1);
        &body[..end]
    }

    #[test]
    fn readme_links_every_crate_table_and_copies_none() {
        let root = workspace_root();
        let readme = fs::read_to_string(root.join("README.md")).unwrap();
        let section = readme_section(&readme);
        let mut crates: Vec<_> = fs::read_dir(root.join("crates"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        crates.sort();
        let mut tables = 0;
        for dir in crates {
            let lib = dir.join("src/lib.rs");
            let Ok(docs) = fs::read_to_string(&lib) else {
                continue;
            };
            let has_table = docs
                .lines()
                .take_while(|l| l.starts_with("//!") || l.starts_with("#!") || l.is_empty())
                .any(|l| l.starts_with("//! #") && l.ends_with("Python → skein"));
            if !has_table {
                continue;
            }
            tables += 1;
            let folder = dir.file_name().unwrap().to_string_lossy().into_owned();
            let link = format!("(crates/{folder}/src/lib.rs)");
            assert!(
                section.contains(&link),
                "README's Python → skein section must link to the table in {}",
                lib.display()
            );
            // A row of the crate's table copied into the README would drift out of sync.
            for row in docs.lines().filter_map(|l| l.strip_prefix("//! | `")) {
                let row = format!("| `{row}");
                assert!(
                    !section.contains(&row),
                    "README repeats a row of {}'s table: {row}",
                    lib.display()
                );
            }
        }
        assert!(tables >= 5, "found the tables of {tables} crates");
    }
}
