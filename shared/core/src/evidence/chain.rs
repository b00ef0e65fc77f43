//! Checks across bundles: each tenant's hash chain, the continuity of its signing keys, and
//! the anchors that tie the chain to something outside it (trusted keys, checkpoints).

use super::checkpoint::Checkpoint;
use super::keyset::TrustedKeys;
use super::verify::{VerifiedBundle, VerifyError};
use std::collections::BTreeMap;

/// What a chain is checked against besides itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct Anchors<'a> {
    /// The published key set (or pinned keys); checkpoints must be signed by one of them.
    pub trusted: Option<&'a TrustedKeys>,
    /// Signed chain heads; the bundles given must reach each one.
    pub checkpoints: &'a [Checkpoint],
}

fn by_tenant(bundles: &[VerifiedBundle]) -> BTreeMap<&str, Vec<&VerifiedBundle>> {
    let mut map: BTreeMap<&str, Vec<&VerifiedBundle>> = BTreeMap::new();
    for b in bundles {
        map.entry(b.tenant.as_str()).or_default().push(b);
    }
    for list in map.values_mut() {
        list.sort_by_key(|b| b.sequence);
    }
    map
}

/// Checks the hash chain across verified bundles, per tenant: sorted by sequence, each one's
/// `prev_manifest_sha256` must be the previous one's manifest hash, with no gaps, and each must
/// be signed by the previous one's key, or by the key a rotation link just before it names. A
/// chain that starts at sequence 1 must start from the genesis value (64 zeros); a partial
/// chain (an auditor's sample) is checked from its first bundle on.
pub fn verify_chain(bundles: &[VerifiedBundle]) -> Result<(), VerifyError> {
    for (tenant, list) in by_tenant(bundles) {
        let chain_err = |detail: String| VerifyError::Chain {
            tenant: tenant.to_owned(),
            detail,
        };
        if list[0].sequence == 1 && list[0].prev_manifest_sha256 != "0".repeat(64) {
            return Err(chain_err(
                "the first bundle does not start from the genesis hash".into(),
            ));
        }
        for pair in list.windows(2) {
            link(pair[0], pair[1]).map_err(chain_err)?;
        }
    }
    Ok(())
}

/// Why `b` cannot follow `a`, if it cannot.
fn link(a: &VerifiedBundle, b: &VerifiedBundle) -> Result<(), String> {
    if b.sequence == a.sequence {
        return Err(format!(
            "two bundles claim sequence {} ({} and {})",
            a.sequence, a.run_id, b.run_id
        ));
    }
    if b.sequence != a.sequence + 1 {
        return Err(format!(
            "sequence {} is followed by {}: bundles are missing",
            a.sequence, b.sequence
        ));
    }
    if b.prev_manifest_sha256 != a.manifest_sha256 {
        return Err(format!(
            "bundle {} (sequence {}) does not point at bundle {} (sequence {})",
            b.run_id, b.sequence, a.run_id, a.sequence
        ));
    }
    let expected = a.next_key_sha256.as_ref().unwrap_or(&a.key_fingerprint);
    if &b.key_fingerprint != expected {
        return Err(match &a.next_key_sha256 {
            Some(next) => format!(
                "bundle {} (sequence {}) is signed by key {}, but the rotation before it hands the chain to key {next}",
                b.run_id, b.sequence, b.key_fingerprint
            ),
            None => format!(
                "bundle {} (sequence {}) is signed by key {}, but the bundle before it by key {} and no rotation statement introduces the change",
                b.run_id, b.sequence, b.key_fingerprint, a.key_fingerprint
            ),
        });
    }
    Ok(())
}

/// [`verify_chain`], then every checkpoint: signed by a trusted key (without trusted keys, by a
/// key the given chain itself uses), and reached by the bundles given with the hash it names.
pub fn verify_anchored(
    bundles: &[VerifiedBundle],
    anchors: Anchors<'_>,
) -> Result<(), VerifyError> {
    verify_chain(bundles)?;
    let tenants = by_tenant(bundles);
    for checkpoint in anchors.checkpoints {
        let list = tenants
            .get(checkpoint.tenant.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        check_checkpoint(list, checkpoint, anchors.trusted).map_err(|detail| {
            VerifyError::Checkpoint {
                tenant: checkpoint.tenant.clone(),
                detail,
            }
        })?;
    }
    Ok(())
}

fn check_checkpoint(
    list: &[&VerifiedBundle],
    checkpoint: &Checkpoint,
    trusted: Option<&TrustedKeys>,
) -> Result<(), String> {
    match trusted {
        Some(trusted) => trusted
            .check(
                &checkpoint.tenant,
                &checkpoint.key_sha256,
                Some(checkpoint.at),
            )
            .map_err(|e| format!("signed by an untrusted key: {e}"))?,
        None => {
            let known = list.iter().any(|b| {
                b.key_fingerprint == checkpoint.key_sha256
                    || b.next_key_sha256.as_deref() == Some(checkpoint.key_sha256.as_str())
            });
            if !known {
                return Err(format!(
                    "signed by key {}, which no bundle given uses",
                    checkpoint.key_sha256
                ));
            }
        }
    }
    let newest = list.last().map_or(0, |b| b.sequence);
    if newest < checkpoint.sequence {
        return Err(format!(
            "the checkpoint of {} names sequence {}, but the bundles given end at sequence {newest}: the newest {} are withheld",
            checkpoint.at,
            checkpoint.sequence,
            checkpoint.sequence - newest
        ));
    }
    if let Some(b) = list.iter().find(|b| b.sequence == checkpoint.sequence)
        && b.manifest_sha256 != checkpoint.head_sha256
    {
        return Err(format!(
            "bundle {} (sequence {}) has manifest {}, but the checkpoint names {}: the chain forked",
            b.run_id, b.sequence, b.manifest_sha256, checkpoint.head_sha256
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "k1";
    const K2: &str = "k2";

    fn hash(n: u64) -> String {
        format!("{n:064x}")
    }

    /// A well-formed chain of `n` bundles signed by `key`.
    fn chain(n: u64, key: &str) -> Vec<VerifiedBundle> {
        (1..=n)
            .map(|s| VerifiedBundle {
                tenant: "acme".into(),
                run_id: format!("run_{s}"),
                sequence: s,
                manifest_sha256: hash(s),
                prev_manifest_sha256: hash(s - 1),
                key_fingerprint: key.into(),
                files_checked: 1,
                signed_at: None,
                next_key_sha256: None,
                timestamped: None,
                restores: None,
            })
            .collect()
    }

    fn detail(result: Result<(), VerifyError>) -> String {
        match result {
            Err(VerifyError::Chain { detail, .. } | VerifyError::Checkpoint { detail, .. }) => {
                detail
            }
            other => panic!("expected a chain or checkpoint error, got {other:?}"),
        }
    }

    #[test]
    fn a_whole_chain_and_a_sample_from_its_middle_pass() {
        let c = chain(5, K1);
        verify_chain(&c).unwrap();
        verify_chain(&c[2..]).unwrap();
    }

    #[test]
    fn a_gap_fails() {
        let mut c = chain(5, K1);
        c.remove(2);
        assert!(detail(verify_chain(&c)).contains("bundles are missing"));
    }

    #[test]
    fn a_fork_fails() {
        let mut c = chain(3, K1);
        let mut twin = c[2].clone();
        twin.run_id = "run_twin".into();
        twin.manifest_sha256 = "f".repeat(64);
        c.push(twin);
        assert!(detail(verify_chain(&c)).contains("two bundles claim sequence 3"));

        let mut c = chain(3, K1);
        c[2].prev_manifest_sha256 = "e".repeat(64);
        assert!(detail(verify_chain(&c)).contains("does not point at"));
    }

    #[test]
    fn a_wrong_first_link_fails() {
        let mut c = chain(3, K1);
        c[0].prev_manifest_sha256 = "1".repeat(64);
        assert!(detail(verify_chain(&c)).contains("genesis"));
    }

    #[test]
    fn a_mixed_key_fails() {
        let mut c = chain(4, K1);
        c[2].key_fingerprint = K2.into();
        let why = detail(verify_chain(&c));
        assert!(why.contains("no rotation statement"), "{why}");
        // Every later bundle by the other key does not help.
        c[3].key_fingerprint = K2.into();
        assert!(detail(verify_chain(&c)).contains("no rotation statement"));
    }

    #[test]
    fn a_rotation_hands_the_chain_to_its_key_only() {
        let mut c = chain(4, K1);
        c[1].next_key_sha256 = Some(K2.into());
        c[2].key_fingerprint = K2.into();
        c[3].key_fingerprint = K2.into();
        verify_chain(&c).unwrap();
        // The old key may not go on signing after the rotation.
        c[2].key_fingerprint = K1.into();
        assert!(detail(verify_chain(&c)).contains("hands the chain to key k2"));
        // And without the rotation link the change of key is unexplained.
        let mut c = chain(4, K1);
        c[2].key_fingerprint = K2.into();
        c[3].key_fingerprint = K2.into();
        assert!(detail(verify_chain(&c)).contains("no rotation statement"));
    }

    fn checkpoint(sequence: u64, key: &str) -> Checkpoint {
        Checkpoint {
            tenant: "acme".into(),
            sequence,
            head_sha256: hash(sequence),
            at: "2026-01-01T00:00:00Z".parse().unwrap(),
            key_sha256: key.into(),
        }
    }

    fn against(bundles: &[VerifiedBundle], cp: Checkpoint) -> Result<(), VerifyError> {
        verify_anchored(
            bundles,
            Anchors {
                trusted: None,
                checkpoints: &[cp],
            },
        )
    }

    #[test]
    fn a_withheld_newest_bundle_fails_against_a_checkpoint() {
        let c = chain(5, K1);
        against(&c, checkpoint(5, K1)).unwrap();
        let why = detail(against(&c[..4], checkpoint(5, K1)));
        assert!(why.contains("withheld"), "{why}");
        // A checkpoint older than the bundles is fine; one whose hash differs is a fork.
        against(&c, checkpoint(3, K1)).unwrap();
        let mut forked = checkpoint(3, K1);
        forked.head_sha256 = "d".repeat(64);
        assert!(detail(against(&c, forked)).contains("forked"));
        // A checkpoint signed by a key foreign to the chain anchors nothing.
        assert!(detail(against(&c, checkpoint(5, K2))).contains("no bundle given uses"));
    }

    #[test]
    fn a_checkpoint_must_be_signed_by_a_trusted_key_when_keys_are_given() {
        let c = chain(2, K1);
        let trusted = TrustedKeys::fingerprints(&[K1.into()]);
        let cps = [checkpoint(2, K2)];
        let anchors = Anchors {
            trusted: Some(&trusted),
            checkpoints: &cps,
        };
        assert!(detail(verify_anchored(&c, anchors)).contains("untrusted"));
    }
}
