use std::collections::BTreeMap;

/// A bundle's files by relative path. Paths are checked so a bundle can never name a file
/// outside its own directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BundleFiles(BTreeMap<String, Vec<u8>>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("bundle path {0:?} is not a plain relative path of [A-Za-z0-9._-] segments")]
pub struct PathError(pub String);

/// True for one path segment: `[A-Za-z0-9._-]+`, not `.` or `..`.
pub fn is_safe_segment(seg: &str) -> bool {
    !seg.is_empty()
        && seg != "."
        && seg != ".."
        && seg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// True for `a/b.json`-style paths: no absolute paths, no `..`, no odd characters.
pub fn is_safe_path(path: &str) -> bool {
    !path.is_empty() && path.len() <= 255 && path.split('/').all(is_safe_segment)
}

impl BundleFiles {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, path: &str, bytes: Vec<u8>) -> Result<(), PathError> {
        if !is_safe_path(path) {
            return Err(PathError(path.to_owned()));
        }
        self.0.insert(path.to_owned(), bytes);
        Ok(())
    }

    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.0.get(path).map(Vec::as_slice)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Vec<u8>)> {
        self.0.iter()
    }

    pub fn paths(&self) -> impl Iterator<Item = &String> {
        self.0.keys()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths() {
        for ok in [
            "manifest.json",
            "evidence/okta/suspend.json",
            "pre-state/okta.json",
        ] {
            assert!(is_safe_path(ok), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a//b",
            "a b",
            "a\\b",
            "./a",
        ] {
            assert!(!is_safe_path(bad), "{bad}");
        }
    }
}
