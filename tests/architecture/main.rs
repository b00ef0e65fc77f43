//! The layer rules of docs/architecture.md, checked against the workspace's own manifests
//! (`cargo metadata`), so a dependency that breaks a layer fails the suite instead of
//! slipping in.
//!
//! The rules are data ([`RULES`]) and the checker is a pure function over the manifests
//! ([`violations`]); the unit tests below feed it workspaces that break each rule on purpose.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The crates that ship, by layer.
const CORE: &[&str] = &["passage-core", "passage-jcs", "passage-hris"];
const CONNECTORS: &[&str] = &["passage-connectors", "passage-hrapi", "passage-notify"];
const EMBEDDED_ADAPTERS: &str = "passage-embedded";
const AWS_ADAPTERS: &str = "passage-aws";
const HTTP: &str = "passage-http";
/// Reports for people and tools (pages, CSV, PDF, archives): over core, under the routes.
const REPORT: &str = "passage-report";
const CONFIG: &str = "passage-config";
const EMBEDDED_HOST: &str = "passage-server";
const LAMBDA_HOST: &str = "passage-lambda";
const FUNCTIONS: &[&str] = &[
    "passage-intake",
    "passage-cutoff",
    "passage-step",
    "passage-finalizer",
    "passage-evidence",
];
/// The world Passage acts on in the demo and tests: never a dependency of what ships, except
/// the `passage` command's optional `sandbox` feature.
const SANDBOX: &[&str] = &["passage-sandbox", "passage-contract", "passage-moto"];
const CLI: &str = "passage";

/// Crates that do I/O: core must reach none of them.
const IO_CRATES: &[&str] = &[
    "reqwest",
    "hyper",
    "axum",
    "rusqlite",
    "lettre",
    "lambda_runtime",
    "lambda_http",
];
/// The only tokio features core may ask for: the runtime-agnostic async mutex.
const CORE_TOKIO_FEATURES: &[&str] = &["sync"];

/// One rule: crates in `who` must not reach (through normal, non-optional dependencies, at any
/// depth inside the workspace) any crate in `must_not_reach`.
struct Rule {
    name: &'static str,
    who: fn() -> Vec<&'static str>,
    must_not_reach: fn() -> Vec<&'static str>,
}

fn hosts_and_adapters() -> Vec<&'static str> {
    vec![EMBEDDED_ADAPTERS, AWS_ADAPTERS, EMBEDDED_HOST, LAMBDA_HOST]
}

const RULES: &[Rule] = &[
    Rule {
        name: "core depends on no adapter, connector, host, HTTP or config crate",
        who: || CORE.to_vec(),
        must_not_reach: || {
            let mut v = hosts_and_adapters();
            v.extend(CONNECTORS);
            v.extend([HTTP, CONFIG, REPORT]);
            v
        },
    },
    Rule {
        name: "reports know no host, adapter, connector, HTTP route or config",
        who: || vec![REPORT],
        must_not_reach: || {
            let mut v = hosts_and_adapters();
            v.extend(CONNECTORS);
            v.extend([HTTP, CONFIG]);
            v
        },
    },
    Rule {
        name: "connectors know no host, adapter, HTTP route or config",
        who: || CONNECTORS.to_vec(),
        must_not_reach: || {
            let mut v = hosts_and_adapters();
            v.extend([HTTP, CONFIG]);
            v
        },
    },
    Rule {
        name: "the embedded and AWS adapters are siblings",
        who: || vec![EMBEDDED_ADAPTERS],
        must_not_reach: || vec![AWS_ADAPTERS, EMBEDDED_HOST, LAMBDA_HOST, HTTP],
    },
    Rule {
        name: "the embedded and AWS adapters are siblings",
        who: || vec![AWS_ADAPTERS],
        must_not_reach: || vec![EMBEDDED_ADAPTERS, EMBEDDED_HOST, LAMBDA_HOST, HTTP],
    },
    Rule {
        name: "HTTP routes know no host and no adapter",
        who: || vec![HTTP],
        must_not_reach: hosts_and_adapters,
    },
    Rule {
        name: "functions and the Lambda host never reach the embedded adapters or host",
        who: || {
            let mut v = FUNCTIONS.to_vec();
            v.push(LAMBDA_HOST);
            v
        },
        must_not_reach: || vec![EMBEDDED_ADAPTERS, EMBEDDED_HOST, "rusqlite"],
    },
    Rule {
        name: "nothing that ships depends on an emulator, the moto launcher or the contract suite",
        who: shipping,
        must_not_reach: || SANDBOX.to_vec(),
    },
];

fn shipping() -> Vec<&'static str> {
    let mut v = CORE.to_vec();
    v.extend(CONNECTORS);
    v.extend(hosts_and_adapters());
    v.extend([HTTP, CONFIG, REPORT, CLI]);
    v.extend(FUNCTIONS);
    v
}

/// One workspace member's declared normal dependencies: name → (optional, features).
type Manifest = BTreeMap<String, (bool, BTreeSet<String>)>;

/// The normal (not dev, not build) dependencies each workspace member declares.
fn manifests(metadata: &Value) -> BTreeMap<String, Manifest> {
    let mut out = BTreeMap::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let mut deps = Manifest::new();
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            if !dep["kind"].is_null() {
                continue; // "dev" or "build"
            }
            let features = dep["features"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(str::to_owned))
                .collect();
            let optional = dep["optional"].as_bool().unwrap_or(false);
            deps.insert(
                dep["name"].as_str().unwrap_or("").to_owned(),
                (optional, features),
            );
        }
        out.insert(package["name"].as_str().unwrap_or("").to_owned(), deps);
    }
    out
}

/// Every crate `from` reaches through non-optional normal dependencies, following workspace
/// members to any depth (external crates are leaves: what they pull in is not ours to rule).
fn reach(workspace: &BTreeMap<String, Manifest>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_owned()];
    while let Some(name) = todo.pop() {
        for (dep, (optional, _)) in workspace.get(&name).into_iter().flatten() {
            if !optional && seen.insert(dep.clone()) {
                todo.push(dep.clone());
            }
        }
    }
    seen
}

/// Every broken rule, in words that name the crates.
fn violations(metadata: &Value) -> Vec<String> {
    let workspace = manifests(metadata);
    let mut out = Vec::new();
    for rule in RULES {
        let forbidden = (rule.must_not_reach)();
        for who in (rule.who)() {
            if !workspace.contains_key(who) {
                continue;
            }
            for dep in reach(&workspace, who) {
                if forbidden.contains(&dep.as_str()) {
                    out.push(format!("{who} reaches {dep}: breaks \"{}\"", rule.name));
                }
            }
        }
    }
    for who in CORE {
        for dep in reach(&workspace, who) {
            if IO_CRATES.contains(&dep.as_str()) || dep.starts_with("aws-") {
                out.push(format!("{who} reaches {dep}: core does no I/O"));
            }
        }
        let tokio = workspace.get(*who).and_then(|m| m.get("tokio"));
        if let Some((_, features)) = tokio {
            for f in features {
                if !CORE_TOKIO_FEATURES.contains(&f.as_str()) {
                    out.push(format!("{who} asks tokio for `{f}`: core does no I/O"));
                }
            }
        }
    }
    // An optional dependency on the sandbox is allowed only for the CLI's `sandbox` feature.
    for (who, deps) in &workspace {
        if SANDBOX.contains(&who.as_str()) || who == CLI {
            continue;
        }
        for (dep, (optional, _)) in deps {
            if *optional && SANDBOX.contains(&dep.as_str()) {
                out.push(format!(
                    "{who} has an optional dependency on {dep}: only the CLI may"
                ));
            }
        }
    }
    out
}

fn workspace_metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn the_workspace_keeps_every_layer_rule() {
    let metadata = workspace_metadata();
    let names: BTreeSet<String> = manifests(&metadata).into_keys().collect();
    for expected in shipping().iter().chain(SANDBOX) {
        assert!(
            names.contains(*expected),
            "{expected} is not a workspace member: update the layers in tests/architecture and \
             docs/architecture.md when a crate is renamed"
        );
    }
    let broken = violations(&metadata);
    assert!(
        broken.is_empty(),
        "layer rules broken:\n{}",
        broken.join("\n")
    );
}

/// One declared dependency of a fixture crate: (name, optional, features).
type Dep = (&'static str, bool, &'static [&'static str]);
/// A fixture workspace: each crate with its declared normal dependencies.
type Rows = Vec<(&'static str, Vec<Dep>)>;

/// A workspace as `cargo metadata --no-deps` describes it.
fn fixture(rows: &Rows) -> Value {
    let packages: Vec<Value> = rows
        .iter()
        .map(|(name, deps)| {
            let deps: Vec<Value> = deps
                .iter()
                .map(|(dep, optional, features)| {
                    serde_json::json!({"name": dep, "kind": null, "optional": optional, "features": features})
                })
                .collect();
            serde_json::json!({"name": name, "dependencies": deps})
        })
        .collect();
    serde_json::json!({ "packages": packages })
}

/// The real layering in miniature: no rule is broken.
fn sound() -> Rows {
    vec![
        (
            "passage-core",
            vec![("passage-jcs", false, &[]), ("tokio", false, &["sync"])],
        ),
        ("passage-jcs", vec![]),
        (
            "passage-connectors",
            vec![("passage-core", false, &[]), ("reqwest", false, &[])],
        ),
        (
            "passage-embedded",
            vec![("passage-core", false, &[]), ("rusqlite", false, &[])],
        ),
        ("passage-aws", vec![("passage-core", false, &[])]),
        (
            "passage-http",
            vec![("passage-core", false, &[]), ("axum", false, &[])],
        ),
        (
            "passage-server",
            vec![
                ("passage-embedded", false, &[]),
                ("passage-http", false, &[]),
            ],
        ),
        (
            "passage-lambda",
            vec![("passage-aws", false, &[]), ("passage-http", false, &[])],
        ),
        ("passage-step", vec![("passage-lambda", false, &[])]),
        (
            "passage",
            vec![
                ("passage-server", false, &[]),
                ("passage-sandbox", true, &[]),
            ],
        ),
        ("passage-sandbox", vec![("axum", false, &[])]),
    ]
}

/// `sound()` with one crate's dependencies replaced.
fn with(name: &'static str, deps: Vec<Dep>) -> Vec<String> {
    let mut rows = sound();
    rows.retain(|(n, _)| *n != name);
    rows.push((name, deps));
    violations(&fixture(&rows))
}

#[test]
fn the_miniature_workspace_is_sound() {
    assert_eq!(violations(&fixture(&sound())), Vec::<String>::new());
}

#[test]
fn core_reaching_an_http_client_is_refused() {
    let broken = with("passage-core", vec![("reqwest", false, &[])]);
    assert!(
        broken
            .iter()
            .any(|v| v.contains("passage-core reaches reqwest")),
        "{broken:?}"
    );
}

#[test]
fn core_asking_tokio_for_networking_is_refused() {
    let broken = with("passage-core", vec![("tokio", false, &["sync", "net"])]);
    assert!(
        broken.iter().any(|v| v.contains("tokio for `net`")),
        "{broken:?}"
    );
}

#[test]
fn core_reaching_a_connector_through_another_crate_is_refused() {
    let broken = with("passage-jcs", vec![("passage-connectors", false, &[])]);
    assert!(
        broken
            .iter()
            .any(|v| v.contains("passage-core reaches passage-connectors")),
        "{broken:?}"
    );
}

#[test]
fn a_function_reaching_an_emulator_is_refused() {
    let broken = with("passage-lambda", vec![("passage-sandbox", false, &[])]);
    assert!(
        broken
            .iter()
            .any(|v| v.contains("passage-step reaches passage-sandbox")),
        "{broken:?}"
    );
}

#[test]
fn a_function_reaching_sqlite_is_refused() {
    let broken = with("passage-lambda", vec![("passage-embedded", false, &[])]);
    assert!(
        broken
            .iter()
            .any(|v| v.contains("passage-lambda reaches passage-embedded")),
        "{broken:?}"
    );
}

#[test]
fn adapters_depending_on_each_other_are_refused() {
    let broken = with("passage-aws", vec![("passage-embedded", false, &[])]);
    assert!(broken.iter().any(|v| v.contains("siblings")), "{broken:?}");
}

#[test]
fn routes_knowing_a_host_are_refused() {
    let broken = with("passage-http", vec![("passage-server", false, &[])]);
    assert!(
        broken
            .iter()
            .any(|v| v.contains("passage-http reaches passage-server")),
        "{broken:?}"
    );
}

#[test]
fn reports_knowing_the_routes_are_refused() {
    let broken = with("passage-report", vec![("passage-http", false, &[])]);
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert!(broken[0].contains("reports know no host"), "{broken:?}");
}

#[test]
fn connectors_knowing_a_host_are_refused() {
    let broken = with("passage-connectors", vec![("passage-lambda", false, &[])]);
    assert!(
        broken
            .iter()
            .any(|v| v.contains("passage-connectors reaches passage-lambda")),
        "{broken:?}"
    );
}

#[test]
fn only_the_cli_may_take_the_sandbox_as_an_option() {
    let broken = with("passage-server", vec![("passage-sandbox", true, &[])]);
    assert!(
        broken.iter().any(|v| v.contains("only the CLI may")),
        "{broken:?}"
    );
    let broken = with("passage", vec![("passage-sandbox", false, &[])]);
    assert!(
        broken
            .iter()
            .any(|v| v.contains("passage reaches passage-sandbox")),
        "{broken:?}"
    );
}
