//! What `cargo metadata` says about the workspace: where it lives, where it builds, and
//! which examples and benches each package has.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;

/// The workspace root: the parent of this xtask crate's folder.
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one folder below the workspace root")
        .to_path_buf()
}

#[derive(Deserialize)]
pub(crate) struct Metadata {
    pub(crate) target_directory: PathBuf,
    packages: Vec<Package>,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    manifest_path: PathBuf,
    targets: Vec<Target>,
}

#[derive(Deserialize)]
struct Target {
    name: String,
    kind: Vec<String>,
    src_path: PathBuf,
}

/// One runnable example of a chapter crate.
#[derive(Debug, Clone)]
pub(crate) struct Example {
    pub(crate) package: String,
    pub(crate) name: String,
    pub(crate) src_path: PathBuf,
}

impl Metadata {
    pub(crate) fn load() -> Result<Self, String> {
        let output = Command::new(crate::cargo_program())
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(workspace_root())
            .output()
            .map_err(|e| format!("could not run `cargo metadata`: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "`cargo metadata` failed:\n{}",
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        serde_json::from_slice(&output.stdout)
            .map_err(|e| format!("could not read `cargo metadata` output: {e}"))
    }

    /// The crate of a chapter: the package whose manifest is `crates/<chapter>/Cargo.toml`.
    fn chapter_package(&self, chapter: &str) -> Option<&Package> {
        let manifest = workspace_root()
            .join("crates")
            .join(chapter)
            .join("Cargo.toml");
        self.packages.iter().find(|p| p.manifest_path == manifest)
    }

    /// The chapter's examples sorted by name (they are numbered), or `None` when the
    /// chapter has no crate yet.
    pub(crate) fn chapter_examples(&self, chapter: &str) -> Option<Vec<Example>> {
        let package = self.chapter_package(chapter)?;
        let mut examples: Vec<Example> = package
            .targets
            .iter()
            .filter(|t| t.kind.iter().any(|k| k == "example"))
            .map(|t| Example {
                package: package.name.clone(),
                name: t.name.clone(),
                src_path: t.src_path.clone(),
            })
            .collect();
        examples.sort_by(|a, b| a.name.cmp(&b.name));
        Some(examples)
    }

    /// Names of the bench targets of `package`.
    pub(crate) fn bench_targets(&self, package: &str) -> Vec<String> {
        self.packages
            .iter()
            .filter(|p| p.name == package)
            .flat_map(|p| &p.targets)
            .filter(|t| t.kind.iter().any(|k| k == "bench"))
            .map(|t| t.name.clone())
            .collect()
    }
}
