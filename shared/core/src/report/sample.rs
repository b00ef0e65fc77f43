//! Reproducible sampling: the sample is a documented function of the auditor's seed and the
//! population, so anyone can recompute it with `sort`, `sha256sum` and `head` (docs/auditor.md).
//!
//! - The population file lists the run ids, sorted bytewise (`LC_ALL=C sort`), one per line,
//!   each ending in a newline; its SHA-256 is the population hash.
//! - Each run id's sort key is the hex SHA-256 of `seed + ":" + run_id`; the sample is the first
//!   `size` run ids by that key (ties, which SHA-256 makes practically impossible, by run id).

use sha2::{Digest, Sha256};

/// Seeds are printed in shell commands and reports: printable, without newlines.
pub const MAX_SEED_LEN: usize = 256;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SampleError {
    #[error("the seed must be 1 to {MAX_SEED_LEN} printable characters")]
    BadSeed,
}

/// The population file: sorted run ids, one per line, each with a trailing newline.
pub fn population_text<S: AsRef<str>>(run_ids: &[S]) -> String {
    let mut ids: Vec<&str> = run_ids.iter().map(AsRef::as_ref).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.iter().map(|id| format!("{id}\n")).collect()
}

/// SHA-256 (hex) of [`population_text`]: what `LC_ALL=C sort population.txt | sha256sum`
/// prints.
pub fn population_sha256<S: AsRef<str>>(run_ids: &[S]) -> String {
    hex::encode(Sha256::digest(population_text(run_ids).as_bytes()))
}

/// One sampled run and the key it was drawn by.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Drawn {
    pub run_id: String,
    /// Hex SHA-256 of `seed:run_id`.
    pub key: String,
}

fn check_seed(seed: &str) -> Result<(), SampleError> {
    if seed.is_empty() || seed.len() > MAX_SEED_LEN || seed.chars().any(char::is_control) {
        return Err(SampleError::BadSeed);
    }
    Ok(())
}

/// The first `size` run ids of the population ordered by `sha256(seed:run_id)`.
pub fn draw<S: AsRef<str>>(
    run_ids: &[S],
    seed: &str,
    size: usize,
) -> Result<Vec<Drawn>, SampleError> {
    check_seed(seed)?;
    let mut ids: Vec<&str> = run_ids.iter().map(AsRef::as_ref).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut keyed: Vec<Drawn> = ids
        .into_iter()
        .map(|id| Drawn {
            key: hex::encode(Sha256::digest(format!("{seed}:{id}").as_bytes())),
            run_id: id.to_owned(),
        })
        .collect();
    keyed.sort_by(|a, b| a.key.cmp(&b.key).then_with(|| a.run_id.cmp(&b.run_id)));
    keyed.truncate(size);
    Ok(keyed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_population_file_is_sorted_lines_with_trailing_newlines() {
        assert_eq!(
            population_text(&["run_b", "run_a", "run_b"]),
            "run_a\nrun_b\n"
        );
        assert_eq!(population_text::<&str>(&[]), "");
        // sha256 of "run_a\nrun_b\n", as `printf 'run_a\nrun_b\n' | sha256sum` prints it.
        assert_eq!(
            population_sha256(&["run_b", "run_a"]),
            hex::encode(Sha256::digest(b"run_a\nrun_b\n"))
        );
    }

    #[test]
    fn the_sample_depends_on_seed_and_population_only() {
        let ids: Vec<String> = (0..40).map(|i| format!("run_{i:02}")).collect();
        let a = draw(&ids, "auditor-2026", 5).unwrap();
        let mut shuffled = ids.clone();
        shuffled.reverse();
        assert_eq!(draw(&shuffled, "auditor-2026", 5).unwrap(), a);
        assert_eq!(a.len(), 5);
        assert!(a.windows(2).all(|w| w[0].key < w[1].key));
        assert_eq!(
            a[0].key,
            hex::encode(Sha256::digest(format!("auditor-2026:{}", a[0].run_id)))
        );
        assert_ne!(draw(&ids, "another", 5).unwrap(), a);
        assert_eq!(draw(&ids, "s", 100).unwrap().len(), 40);
        assert_eq!(draw(&ids, "", 1), Err(SampleError::BadSeed));
        assert_eq!(draw(&ids, "a\nb", 1), Err(SampleError::BadSeed));
    }
}
