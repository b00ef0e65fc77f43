//! Relative paths in a config file are relative to the file.

use std::path::Path;

/// Rewrites `server.data_dir` and every `file:` reference that is relative into one under
/// `folder` (the config file's own folder).
pub(crate) fn anchor(table: &mut toml::Table, folder: &Path) {
    if let Some(toml::Value::Table(server)) = table.get_mut("server")
        && let Some(toml::Value::String(dir)) = server.get_mut("data_dir")
        && Path::new(dir.as_str()).is_relative()
    {
        *dir = folder.join(&*dir).display().to_string();
    }
    for (_, value) in table.iter_mut() {
        anchor_files(value, folder);
    }
}

fn anchor_files(value: &mut toml::Value, folder: &Path) {
    match value {
        toml::Value::String(s) => {
            if let Some(rest) = s.strip_prefix("file:")
                && Path::new(rest).is_relative()
            {
                *s = format!("file:{}", folder.join(rest).display());
            }
        }
        toml::Value::Array(items) => items.iter_mut().for_each(|v| anchor_files(v, folder)),
        toml::Value::Table(t) => t.iter_mut().for_each(|(_, v)| anchor_files(v, folder)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_follow_the_file_and_absolute_ones_stay() {
        let mut t: toml::Table = toml::from_str(
            r#"
            [server]
            data_dir = "data"
            [[tenants]]
            id = "acme"
            webhook_secrets = ["file:secrets/whsec", "file:/etc/abs", "env:X", "inline"]
            "#,
        )
        .unwrap();
        anchor(&mut t, Path::new("/srv/passage"));
        assert_eq!(t["server"]["data_dir"].as_str(), Some("/srv/passage/data"));
        let secrets = t["tenants"][0]["webhook_secrets"].as_array().unwrap();
        let got: Vec<&str> = secrets.iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(
            got,
            [
                "file:/srv/passage/secrets/whsec",
                "file:/etc/abs",
                "env:X",
                "inline"
            ]
        );
    }
}
