//! The layer order of the library, checked: every `crate::` reference of a top-level module
//! must point to a module in a lower layer. A back edge (a lower layer reaching up, or two
//! modules of one layer using each other) fails here, naming the file, before it becomes an
//! import circle. The README's architecture section describes the same order.

use std::collections::BTreeMap;
use std::path::Path;

/// Bottom to top. A module may use the modules of the layers below its own, never its own
/// layer's or a higher one's.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "leaves: shared vocabulary and pure helpers",
        &[
            "canon", "clock", "crypto", "domain", "i18n", "memory", "tls",
        ],
    ),
    (
        "factor algorithms, federation, the pure policy",
        &["federation", "mfa", "policy"],
    ),
    ("state", &["store"]),
    ("audit log and the config model", &["audit", "config"]),
    ("mail and logging", &["logging", "notify"]),
    (
        "sessions: tokens, jars, revocation view, live registry",
        &["session"],
    ),
    ("the HTTP-free core", &["gate"]),
    ("the gateway's pages (adapter)", &["web"]),
    ("the proxy (adapter)", &["proxy"]),
    ("the demo dashboard and the command line", &["cli", "demo"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

/// Top-level modules referenced from `text` (`crate::NAME`, and `use crate::{A, B}`), as the
/// tracker's layers script reads them. Unit-test modules may look anywhere.
fn references(text: &str) -> Vec<String> {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    let mut out = Vec::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(inner.split(',').filter_map(|p| {
                let name = p.trim().split("::").next()?.trim();
                (!name.is_empty()).then(|| name.to_string())
            }));
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push(name);
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn modules_only_use_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut back_edges: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut unplaced = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let top = top.trim_end_matches(".rs").to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        let Some(own) = layer_of(&top) else {
            unplaced.push(top);
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for used in references(&text) {
            let Some(theirs) = layer_of(&used) else {
                continue;
            };
            if used != top && theirs >= own {
                let edge = format!("{top} -> {used}");
                back_edges
                    .entry(edge)
                    .or_default()
                    .push(rel.display().to_string());
            }
        }
    }
    unplaced.sort();
    unplaced.dedup();
    assert!(
        unplaced.is_empty(),
        "modules missing from LAYERS: {unplaced:?}"
    );
    assert!(
        back_edges.is_empty(),
        "edges against the layer order: {back_edges:#?}"
    );
}

/// The check itself can fail: a reference up the order is found.
#[test]
fn a_back_edge_is_seen() {
    let refs = references("use crate::{proxy::pipeline, store};\nfn f() { crate::web::x(); }");
    assert_eq!(refs, ["proxy", "store", "web"]);
    assert!(layer_of("proxy") > layer_of("gate"));
    let unit_tests = "fn a() {}\n#[cfg(test)]\nmod tests {\n use crate::proxy;\n}";
    assert!(references(unit_tests).is_empty());
}
