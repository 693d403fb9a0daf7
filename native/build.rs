//! Stamps every build with a digest of what it was built from, exposed as `sky_rs.__source_digest__`,
//! so the regression gate can tell a stale build from a fresh one. The definition is shared with
//! `harness/gate/source_digest.py` (docs/gate.md, "Which build is measured"); a test checks they agree.

use sha2::{Digest, Sha256};
use std::env;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

fn rust_sources(dir: &Path, found: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rust_sources(&path, found)?;
        } else if path.is_file() && path.extension().is_some_and(|ext| ext == "rs") {
            found.push(path);
        }
    }
    Ok(())
}

/// `path` relative to the crate, `/`-separated, as the Python side spells it.
fn relative_name(crate_dir: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(crate_dir).expect("a file of the crate");
    let parts: Vec<String> =
        relative.components().map(|part| part.as_os_str().to_string_lossy().into_owned()).collect();
    parts.join("/")
}

fn main() -> io::Result<()> {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut files = Vec::new();
    rust_sources(&crate_dir.join("src"), &mut files)?;
    for name in ["Cargo.toml", "Cargo.lock"] {
        let path = crate_dir.join(name);
        if path.is_file() {
            files.push(path);
        }
    }
    let mut named: Vec<(String, PathBuf)> =
        files.into_iter().map(|path| (relative_name(&crate_dir, &path), path)).collect();
    named.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));

    let mut digest = Sha256::new();
    for (name, path) in &named {
        let content = fs::read(path)?;
        digest.update(format!("file\0{name}\0{}\0", content.len()).as_bytes());
        digest.update(&content);
    }
    let profile = env::var("PROFILE").unwrap_or_default();
    digest.update(format!("profile\0{profile}\0").as_bytes());
    let mut features: Vec<String> = env::vars()
        .filter_map(|(key, _)| key.strip_prefix("CARGO_FEATURE_").map(str::to_lowercase))
        .collect();
    features.sort();
    for feature in &features {
        digest.update(format!("feature\0{feature}\0").as_bytes());
    }
    let hex: String = digest.finalize().iter().map(|byte| format!("{byte:02x}")).collect();

    println!("cargo:rustc-env=SKY_RS_SOURCE_DIGEST={hex}");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.toml");
    println!("cargo:rerun-if-changed=Cargo.lock");
    Ok(())
}
