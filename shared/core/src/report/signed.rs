//! The signed report: a directory laid out and signed like a bundle (manifest, statement,
//! signature, public key), so `passage verify` and the same openssl, sha256sum and jq steps
//! check it. Its statement names the period as its `run` and, as `sequence` and
//! `prev-manifest-sha256`, the chain head it covers: the last bundle's sequence and manifest
//! hash when the report was made.

use super::build::PeriodReport;
use super::completeness::{Completeness, hr_list_bytes};
use super::period::Period;
use super::sample::population_text;
use crate::evidence::TrustedKeys;
use crate::evidence::build::{public_key_fingerprint, sha256_hex};
use crate::evidence::verify::{check_files, manifest_of, signed_statement};
use crate::evidence::{BundleFiles, Statement, VerifiedBundle, VerifyError};
use serde_json::{Value, json};

/// The `schema` of a signed report's manifest.
pub const REPORT_BUNDLE_SCHEMA: &str = "passage.evidence.period-report/v1";

/// What goes into a signed report besides the report itself.
pub struct ReportFiles<'a> {
    pub report: &'a PeriodReport,
    /// Renderings by path: `report.html`, `report.csv`, `oscal/assessment-results.json`, …
    pub renderings: Vec<(String, Vec<u8>)>,
    pub key_id: &'a str,
    pub public_key_pem: &'a str,
}

/// The statement's `run` for a period.
fn statement_run(period: &Period) -> String {
    format!("period:{}", period.id())
}

/// Every file but the signature and the public key, and the statement to sign.
pub fn report_files(input: &ReportFiles<'_>) -> Result<(BundleFiles, Statement), String> {
    let report = input.report;
    let mut files = BundleFiles::new();
    let mut put = |path: &str, bytes: Vec<u8>| files.insert(path, bytes).map_err(|e| e.to_string());
    let mut json_bytes = serde_json::to_vec_pretty(report).map_err(|e| e.to_string())?;
    json_bytes.push(b'\n');
    put("report.json", json_bytes)?;
    put(
        "population.txt",
        population_text(&report.population.run_ids).into_bytes(),
    )?;
    if let Completeness::Checked {
        hr_terminations, ..
    } = &report.completeness
    {
        put("hr-terminations.json", hr_list_bytes(hr_terminations))?;
    }
    for (path, bytes) in &input.renderings {
        put(path, bytes.clone())?;
    }
    put(
        "VERIFY.md",
        verify_instructions(&report.tenant, &report.period).into_bytes(),
    )?;
    let manifest = manifest(input, &files)?;
    let manifest_bytes = passage_jcs::to_canonical_vec(&manifest).map_err(|e| e.to_string())?;
    let statement = Statement {
        tenant: report.tenant.clone(),
        run_id: statement_run(&report.period),
        sequence: report.chain_head.sequence,
        manifest_sha256: sha256_hex(&manifest_bytes),
        prev_manifest_sha256: report.chain_head.manifest_sha256.clone(),
        key_id: input.key_id.to_owned(),
    };
    files
        .insert("manifest.json", manifest_bytes)
        .map_err(|e| e.to_string())?;
    Ok((files, statement))
}

fn manifest(input: &ReportFiles<'_>, files: &BundleFiles) -> Result<Value, String> {
    let report = input.report;
    let file_list: Vec<Value> = files
        .iter()
        .map(|(p, b)| json!({"path": p, "sha256": sha256_hex(b), "size": b.len()}))
        .collect();
    Ok(json!({
        "schema": REPORT_BUNDLE_SCHEMA,
        "tenant": report.tenant,
        "run_id": statement_run(&report.period),
        "period": report.period,
        "sequence": report.chain_head.sequence,
        "prev_manifest_sha256": report.chain_head.manifest_sha256,
        "covers": {
            "sequence": report.chain_head.sequence,
            "manifest_sha256": report.chain_head.manifest_sha256,
        },
        "created_at": report.generated_at,
        "signing": {
            "algorithm": "ECDSA_P256_SHA256",
            "key_id": input.key_id,
            "public_key_sha256": public_key_fingerprint(input.public_key_pem)?,
            "signed_file": "statement.txt",
            "signature_file": "statement.sig",
        },
        "population": {"count": report.population.count, "sha256": report.population.sha256},
        "files": file_list,
    }))
}

/// What a verified report says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedReport {
    pub tenant: String,
    pub period: Period,
    /// The chain head it covers.
    pub covers_sequence: u64,
    pub covers_manifest_sha256: String,
    pub key_fingerprint: String,
    pub files_checked: usize,
    pub population_sha256: String,
}

/// Verifies a signed report: signature, statement, manifest, every file, and that
/// `population.txt` is the population the manifest names. With `trusted`, the key must be one
/// of those keys, valid when the report was signed.
pub fn verify_report(
    files: &BundleFiles,
    trusted: Option<&TrustedKeys>,
) -> Result<VerifiedReport, VerifyError> {
    let (statement, fingerprint) = signed_statement(files)?;
    let manifest = manifest_of(files, &statement, &fingerprint, REPORT_BUNDLE_SCHEMA)?;
    let files_checked = check_files(files, &manifest)?;
    if let Some(trusted) = trusted {
        let signed_at = manifest["created_at"].as_str().and_then(|t| t.parse().ok());
        trusted
            .check(&statement.tenant, &fingerprint, signed_at)
            .map_err(VerifyError::UntrustedKey)?;
    }
    let shape = |what: &str| VerifyError::ManifestShape(what.to_owned());
    let period: Period = serde_json::from_value(manifest["period"].clone())
        .map_err(|_| shape("period is not {from, to}"))?;
    if statement.run_id != statement_run(&period) {
        return Err(VerifyError::ManifestMismatch { field: "period" });
    }
    let population_sha256 = manifest["population"]["sha256"]
        .as_str()
        .ok_or_else(|| shape("population.sha256 is missing"))?
        .to_owned();
    let population = files
        .get("population.txt")
        .ok_or_else(|| VerifyError::MissingFile("population.txt".into()))?;
    if sha256_hex(population) != population_sha256 {
        return Err(VerifyError::ManifestMismatch {
            field: "population.sha256",
        });
    }
    Ok(VerifiedReport {
        tenant: statement.tenant,
        period,
        covers_sequence: statement.sequence,
        covers_manifest_sha256: statement.prev_manifest_sha256,
        key_fingerprint: fingerprint,
        files_checked,
        population_sha256,
    })
}

/// Checks a report against bundles verified alongside it: the tenant's bundle at the covered
/// sequence must be the one the report names.
pub fn check_covers(
    report: &VerifiedReport,
    bundles: &[VerifiedBundle],
) -> Result<(), VerifyError> {
    for b in bundles
        .iter()
        .filter(|b| b.tenant == report.tenant && b.sequence == report.covers_sequence)
    {
        if b.manifest_sha256 != report.covers_manifest_sha256 {
            return Err(VerifyError::Chain {
                tenant: report.tenant.clone(),
                detail: format!(
                    "the report for {} covers bundle {} with manifest {}, but bundle {} (run {}) has {}",
                    report.period,
                    report.covers_sequence,
                    report.covers_manifest_sha256,
                    b.sequence,
                    b.run_id,
                    b.manifest_sha256
                ),
            });
        }
    }
    Ok(())
}

fn verify_instructions(tenant: &str, period: &Period) -> String {
    format!(
        r#"# Verifying this Passage period report

Tenant `{tenant}`, leavers whose termination date is from {from} to {to}. Needs only
`openssl`, `sha256sum` and `jq`. Run in this directory.

1. The public key is the one Passage publishes for the tenant (also recorded as
   `signing.public_key_sha256` in manifest.json):

       openssl pkey -pubin -in signing-key.pem -outform DER | sha256sum

2. The statement is signed by that key (prints `Verified OK`):

       openssl dgst -sha256 -verify signing-key.pem -signature statement.sig statement.txt

3. The manifest is the one the statement names (the two hashes are equal):

       grep '^manifest-sha256 ' statement.txt | cut -d' ' -f2
       sha256sum manifest.json | cut -d' ' -f1

4. Every file is the one the manifest names (every line `OK`):

       jq -r '.files[] | "\(.sha256)  \(.path)"' manifest.json | sha256sum -c -

5. The report covers the tenant's evidence chain up to the bundle whose sequence and manifest
   hash the statement names (`sequence`, `prev-manifest-sha256`): compare them with that
   bundle's `sequence` and `sha256sum manifest.json`.

       grep -E '^(sequence|prev-manifest-sha256) ' statement.txt

6. The population (the leavers' run ids, sorted, one per line) is the one the report names:

       sha256sum population.txt; jq -r .population.sha256 manifest.json

`hr-terminations.json` is the HR system's list of the period's terminations as Passage read
it (RFC 8785 bytes; its SHA-256 is `completeness.hr_list_sha256` in report.json).
`passage verify <dir>...` performs these checks in one command, and checks the covered bundle
when it is given too. docs/auditor.md shows how to draw a sample from `population.txt`.
"#,
        from = period.from,
        to = period.to
    )
}
