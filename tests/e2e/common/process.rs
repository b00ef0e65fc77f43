//! Running the `passage` binary as an operator or a supervisor would: one-shot commands, and
//! long-running ones (`serve`, `sandbox`) started and waited for until they say they are ready.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};

/// Runs `passage` in `cwd` and returns what it printed.
pub fn passage(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_passage"))
        .args(args)
        .current_dir(cwd)
        .env("PASSAGE_LOG", "warn")
        .output()
        .expect("run passage")
}

/// Spawns `passage`, waits for a stdout line starting with `ready`, and keeps every stderr line
/// (logged at `log`).
pub fn spawn(
    args: &[&str],
    cwd: &Path,
    ready: &str,
    log: &str,
) -> (Child, String, Arc<Mutex<Vec<String>>>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_passage"));
    command.args(args).current_dir(cwd).env("PASSAGE_LOG", log);
    spawn_command(command, ready)
}

/// As [`spawn`], for a command already set up (its own program, environment, arguments).
pub fn spawn_command(
    mut command: Command,
    ready: &str,
) -> (Child, String, Arc<Mutex<Vec<String>>>) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn passage");
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let kept = stderr.clone();
    let err = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in err.lines().map_while(Result::ok) {
            kept.lock().unwrap().push(line);
        }
    });
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        let line = line.expect("read stdout");
        if line.starts_with(ready) {
            // Keep draining so the child never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return (child, line, stderr);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let said = stderr.lock().unwrap().join("\n");
    panic!("{command:?} ended before printing {ready:?}:\n{said}");
}

/// Four consecutive free ports, found by binding them: the sandbox's emulators take a base
/// port and the next ones.
pub fn free_base_port() -> u16 {
    loop {
        let first = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = first.local_addr().unwrap().port();
        if base > 60000 {
            continue;
        }
        drop(first);
        if (0..4).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return base;
        }
    }
}

/// Sends SIGTERM, as a supervisor stops a service.
pub fn terminate(child: &Child) {
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
}
