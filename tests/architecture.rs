//! The layering the README's "Library" map promises: every folder of `src/` uses only the layers
//! before it (so the module graph has no circle), and `error.rs` imports nothing from the crate.
//! Read from the source files, comments left out.

use std::path::{Path, PathBuf};

/// The layers, lowest first, as `src/lib.rs` declares them.
const LAYERS: [&str; 15] = [
    "error", "backend", "check", "linalg", "random", "stats", "data", "kernels", "models",
    "training", "solvers", "sampling", "science", "sweep", "figure",
];

fn sources(layer: &str) -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = vec![];
    let file = src.join(format!("{layer}.rs"));
    if file.exists() {
        out.push(file);
    }
    let mut stack = vec![src.join(layer)];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out
}

/// The crate modules named as `crate::<name>` in the code (not the comments) of `text`.
fn crate_paths(text: &str) -> Vec<String> {
    let mut out = vec![];
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + 7..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            out.push(name);
        }
    }
    out
}

#[test]
fn every_layer_uses_only_the_layers_before_it() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    assert_eq!(
        declared, LAYERS,
        "src/lib.rs declares the layers in another order"
    );
    let mut seen = 0;
    for (i, layer) in LAYERS.iter().enumerate() {
        let files = sources(layer);
        assert!(!files.is_empty(), "no sources for layer {layer}");
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for name in crate_paths(&text) {
                if let Some(j) = LAYERS.iter().position(|l| *l == name) {
                    assert!(
                        j <= i,
                        "{} (layer {layer}) uses crate::{name}, a later layer",
                        f.display()
                    );
                    seen += 1;
                }
            }
        }
    }
    assert!(
        seen > 100,
        "only {seen} crate paths found: the scan is broken"
    );
    let error = sources("error");
    let text = std::fs::read_to_string(&error[0]).unwrap();
    assert_eq!(
        crate_paths(&text),
        Vec::<String>::new(),
        "error.rs imports from the crate"
    );
}
