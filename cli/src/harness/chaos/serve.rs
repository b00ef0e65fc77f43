//! `passage serve` as a real child process, so a chaos run can SIGKILL it mid-flight and start
//! it again on the same data directory.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Serve {
    child: Child,
    /// `http://127.0.0.1:<port>`; a new port after every restart.
    pub url: String,
}

impl Serve {
    /// Starts `exe --config config serve`, its log appended to `log`, and waits for its
    /// "listening on" line.
    pub fn start(exe: &Path, config: &Path, log: &Path) -> Result<Self> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let mut child = Command::new(exe)
            .arg("--config")
            .arg(config)
            .arg("serve")
            .env("PASSAGE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {} serve", exe.display()))?;
        let stdout = child.stdout.take().context("serve's stdout")?;
        let mut lines = BufReader::new(stdout);
        let mut first = String::new();
        lines.read_line(&mut first)?;
        let Some(addr) = first.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("passage serve did not start (first line {first:?}; see its log)");
        };
        let url = addr.to_owned();
        // Keep reading, so the server never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut lines, &mut std::io::sink()));
        Ok(Self { child, url })
    }

    /// SIGKILL: no shutdown code runs, as in a crash or an out-of-memory kill.
    pub fn kill(mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
