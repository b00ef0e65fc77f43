//! Keeping the data directory to the account that runs Passage.
//!
//! The data directory holds leavers' records, HR systems' learned webhook secrets, the link key
//! and the signing key; nobody else on the machine has reason to read any of it. So everything
//! Passage creates there is created private — directories 0700, files 0600, whatever the
//! process umask says — and [`make_private`] tightens what an earlier version (or a restore from
//! backup) left readable by others. On systems without Unix permissions these are no-ops.

use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

/// Options that create a file readable and writable by its owner only.
pub fn private_file() -> OpenOptions {
    #[allow(unused_mut)]
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Creates `dir` and any missing parents as directories only their owner may enter.
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    #[allow(unused_mut)]
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// A directory or file whose mode was tightened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tightened {
    pub path: PathBuf,
    /// Permission bits before and after (e.g. `0o644` → `0o600`).
    pub was: u32,
    pub now: u32,
}

/// Creates `dir` if needed, then takes group and other permissions off it and off everything
/// beneath it; symbolic links are left alone and not followed. Returns what changed.
pub fn make_private(dir: &Path) -> io::Result<Vec<Tightened>> {
    create_private_dir_all(dir)?;
    let mut changed = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(path) = pending.pop() {
        let meta = std::fs::symlink_metadata(&path)?;
        if meta.file_type().is_symlink() {
            continue;
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                pending.push(entry?.path());
            }
        }
        if let Some(t) = tighten(&path, &meta)? {
            changed.push(t);
        }
    }
    Ok(changed)
}

#[cfg(unix)]
fn tighten(path: &Path, meta: &std::fs::Metadata) -> io::Result<Option<Tightened>> {
    use std::os::unix::fs::PermissionsExt;
    let was = meta.permissions().mode() & 0o7777;
    let now = was & 0o700;
    if now == was {
        return Ok(None);
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(now))?;
    Ok(Some(Tightened {
        path: path.to_owned(),
        was,
        now,
    }))
}

#[cfg(not(unix))]
fn tighten(_: &Path, _: &std::fs::Metadata) -> io::Result<Option<Tightened>> {
    Ok(None)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777
    }

    fn set(p: &Path, m: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    }

    #[test]
    fn creates_private_and_tightens_what_others_could_read() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        assert_eq!(make_private(&dir).unwrap(), Vec::new());
        assert_eq!(mode(&dir), 0o700);

        let nested = dir.join("bundles/acme");
        create_private_dir_all(&nested).unwrap();
        assert_eq!(mode(&dir.join("bundles")), 0o700);
        let db = dir.join("passage.db");
        std::fs::write(&db, b"x").unwrap();
        let kept = nested.join("manifest.json");
        private_file()
            .write(true)
            .create_new(true)
            .open(&kept)
            .unwrap();
        assert_eq!(mode(&kept), 0o600);
        set(&db, 0o644);
        set(&dir, 0o755);
        set(&nested, 0o750);
        let outside = root.path().join("outside");
        std::fs::write(&outside, b"y").unwrap();
        set(&outside, 0o644);
        std::os::unix::fs::symlink(&outside, dir.join("link")).unwrap();

        let mut changed = make_private(&dir).unwrap();
        changed.sort_by(|a, b| a.path.cmp(&b.path));
        let expect = |p: &Path, was, now| Tightened {
            path: p.to_owned(),
            was,
            now,
        };
        assert_eq!(
            changed,
            vec![
                expect(&dir, 0o755, 0o700),
                expect(&nested, 0o750, 0o700),
                expect(&db, 0o644, 0o600),
            ]
        );
        assert_eq!(mode(&outside), 0o644, "a link's target is not touched");
        assert_eq!(
            make_private(&dir).unwrap(),
            Vec::new(),
            "nothing left to do"
        );
    }
}
