//! Printing a page to PDF with headless Chromium (Debian's `chromium` package): a fresh
//! profile each time, no network-facing background services, no header or footer. The pages
//! load nothing, so the PDF is made from the page alone.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("no Chromium found: install Debian's `chromium` package or set PASSAGE_CHROMIUM")]
    NotFound,
    #[error("running Chromium: {0}")]
    Io(#[from] std::io::Error),
    #[error("Chromium did not print within {0:?}")]
    Timeout(Duration),
    #[error("Chromium failed ({status}): {stderr}")]
    Failed { status: String, stderr: String },
}

/// A Chromium (or Chrome) binary that can print.
#[derive(Clone, Debug)]
pub struct Chromium {
    path: PathBuf,
    timeout: Duration,
}

/// The names Debian and other systems install Chromium under, in the order tried.
const NAMES: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

impl Chromium {
    /// `PASSAGE_CHROMIUM`, else the first of [`NAMES`] on the `PATH`.
    pub fn find() -> Option<Self> {
        let path = std::env::var_os("PASSAGE_CHROMIUM")
            .map(PathBuf::from)
            .filter(|p| p.is_file())
            .or_else(|| NAMES.iter().find_map(|n| on_path(n)))?;
        Some(Self {
            path,
            timeout: Duration::from_secs(90),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Prints `html` to PDF bytes. Blocking: call it off the async runtime's threads.
    pub fn print(&self, html: &[u8]) -> Result<Vec<u8>, PdfError> {
        let dir = tempfile::tempdir()?;
        let page = dir.path().join("page.html");
        let out = dir.path().join("page.pdf");
        std::fs::write(&page, html)?;
        // To a file, not a pipe: a chatty Chromium must never block on a full pipe.
        let log = dir.path().join("chromium.log");
        let mut child = Command::new(&self.path)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-dev-shm-usage",
                "--no-pdf-header-footer",
            ])
            .arg(format!(
                "--user-data-dir={}",
                dir.path().join("profile").display()
            ))
            .arg(format!("--print-to-pdf={}", out.display()))
            .arg(format!("file://{}", page.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log)?)
            .spawn()?;
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break status;
            }
            if started.elapsed() > self.timeout {
                let _ = child.kill();
                let _ = child.wait();
                return Err(PdfError::Timeout(self.timeout));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let pdf = std::fs::read(&out).ok().filter(|b| b.starts_with(b"%PDF"));
        match pdf {
            Some(bytes) if status.success() => Ok(bytes),
            _ => {
                let stderr = std::fs::read_to_string(&log).unwrap_or_default();
                Err(PdfError::Failed {
                    status: status.to_string(),
                    stderr: stderr.lines().rev().take(5).collect::<Vec<_>>().join(" | "),
                })
            }
        }
    }
}
