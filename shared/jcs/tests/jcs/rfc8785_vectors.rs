//! The six input/output pairs of the RFC 8785 reference test data (cyberphone/json-canonicalization
//! `testdata/`), kept read-only in the project's `shared/specs/jcs/` folder.

use std::fs;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

const VECTORS: [&str; 6] = [
    "arrays",
    "french",
    "structures",
    "unicode",
    "values",
    "weird",
];

fn specs_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs/jcs");
    assert!(
        dir.join("input").is_dir(),
        "RFC 8785 test vectors not found: looked for {}/input (the project's shared/specs/jcs, \
         beside the repository root)",
        dir.display()
    );
    dir
}

fn read(path: PathBuf) -> Vec<u8> {
    fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn parse_hex(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

#[test]
fn every_reference_vector_canonicalizes_byte_for_byte() {
    let dir = specs_dir();
    for name in VECTORS {
        let input = read(dir.join(format!("input/{name}.json")));
        let expected = read(dir.join(format!("output/{name}.json")));
        let value: serde_json::Value = serde_json::from_slice(&input).unwrap();
        let actual = passage_jcs::to_canonical_vec(&value).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&actual),
            String::from_utf8_lossy(&expected),
            "vector {name}"
        );
        assert_eq!(actual, expected, "vector {name} (bytes)");

        let hex = String::from_utf8(read(dir.join(format!("outhex/{name}.txt")))).unwrap();
        assert_eq!(actual, parse_hex(&hex), "vector {name} against outhex");
    }
}

#[test]
fn pairs_file_agrees_including_sha256() {
    let pairs: serde_json::Value =
        serde_json::from_slice(&read(specs_dir().join("pairs.json"))).unwrap();
    let pairs = pairs["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), VECTORS.len());
    for pair in pairs {
        let name = pair["name"].as_str().unwrap();
        let value: serde_json::Value =
            serde_json::from_str(pair["input"].as_str().unwrap()).unwrap();
        let actual = passage_jcs::to_canonical_string(&value).unwrap();
        assert_eq!(actual, pair["expected_output"].as_str().unwrap(), "{name}");
        assert_eq!(
            hex::encode(actual.as_bytes()),
            pair["expected_output_hex"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            hex::encode(Sha256::digest(actual.as_bytes())),
            pair["expected_output_sha256"].as_str().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn pairs_file_es6_number_samples() {
    let pairs: serde_json::Value =
        serde_json::from_slice(&read(specs_dir().join("pairs.json"))).unwrap();
    let lines = pairs["es6_number_samples"]["lines"].as_array().unwrap();
    assert!(!lines.is_empty());
    for line in lines {
        let bits = u64::from_str_radix(line[0].as_str().unwrap(), 16).unwrap();
        let expected = line[1].as_str().unwrap();
        assert_eq!(
            passage_jcs::number_to_string(f64::from_bits(bits)).unwrap(),
            expected,
            "bits {bits:016x}"
        );
    }
}

#[test]
fn canonical_output_is_a_fixed_point() {
    let dir = specs_dir();
    for name in VECTORS {
        let expected = read(dir.join(format!("output/{name}.json")));
        let value: serde_json::Value = serde_json::from_slice(&expected).unwrap();
        assert_eq!(
            passage_jcs::to_canonical_vec(&value).unwrap(),
            expected,
            "{name}"
        );
    }
}
