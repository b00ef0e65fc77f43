//! The signed statement: one small text file, so signing never depends on manifest size and
//! auditors can read what was signed without tools.

use std::fmt::Write;

const HEADER: &str = "passage-evidence-statement v1";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    pub tenant: String,
    pub run_id: String,
    pub sequence: u64,
    pub manifest_sha256: String,
    pub prev_manifest_sha256: String,
    pub key_id: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StatementError {
    #[error("statement.txt does not start with {HEADER:?}")]
    Header,
    #[error("statement.txt line {0} is malformed")]
    Line(usize),
    #[error("statement.txt lacks the field {0:?}")]
    Missing(&'static str),
    #[error("statement.txt field {0:?} has an invalid value")]
    Value(&'static str),
}

impl Statement {
    /// The exact bytes that are signed. Fixed field order, one `name value` per line.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "{HEADER}");
        let _ = writeln!(s, "tenant {}", self.tenant);
        let _ = writeln!(s, "run {}", self.run_id);
        let _ = writeln!(s, "sequence {}", self.sequence);
        let _ = writeln!(s, "manifest-sha256 {}", self.manifest_sha256);
        let _ = writeln!(s, "prev-manifest-sha256 {}", self.prev_manifest_sha256);
        let _ = writeln!(s, "key-id {}", self.key_id);
        s
    }

    pub fn parse(text: &str) -> Result<Self, StatementError> {
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(StatementError::Header);
        }
        let mut fields = std::collections::BTreeMap::new();
        for (i, line) in lines.enumerate() {
            let (k, v) = line.split_once(' ').ok_or(StatementError::Line(i + 2))?;
            fields.insert(k.to_owned(), v.to_owned());
        }
        let mut take =
            |name: &'static str| fields.remove(name).ok_or(StatementError::Missing(name));
        let statement = Statement {
            tenant: take("tenant")?,
            run_id: take("run")?,
            sequence: take("sequence")?
                .parse()
                .map_err(|_| StatementError::Value("sequence"))?,
            manifest_sha256: take("manifest-sha256")?,
            prev_manifest_sha256: take("prev-manifest-sha256")?,
            key_id: take("key-id")?,
        };
        for (name, v) in [
            ("manifest-sha256", &statement.manifest_sha256),
            ("prev-manifest-sha256", &statement.prev_manifest_sha256),
        ] {
            if v.len() != 64 || !v.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(StatementError::Value(name));
            }
        }
        // Rendering the parsed statement must give the same text back: no extra or reordered
        // lines can hide in a signed statement.
        if statement.render() != text {
            return Err(StatementError::Line(0));
        }
        Ok(statement)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Statement {
        Statement {
            tenant: "acme".into(),
            run_id: "run_1".into(),
            sequence: 7,
            manifest_sha256: "a".repeat(64),
            prev_manifest_sha256: "0".repeat(64),
            key_id: "file:sha256:abc".into(),
        }
    }

    #[test]
    fn round_trips() {
        let s = sample();
        assert_eq!(Statement::parse(&s.render()).unwrap(), s);
    }

    #[test]
    fn rejects_extra_or_bad_lines() {
        let text = sample().render() + "extra line\n";
        assert!(Statement::parse(&text).is_err());
        let text = sample().render().replace("sequence 7", "sequence x");
        assert_eq!(
            Statement::parse(&text),
            Err(StatementError::Value("sequence"))
        );
        assert_eq!(Statement::parse("hello\n"), Err(StatementError::Header));
    }
}
