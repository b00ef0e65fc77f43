//! `passage operator hash-password`: the Argon2id hash an operator's `password_hash` holds, so
//! the password itself is never written into the config.

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use std::io::Read;

#[derive(Subcommand)]
pub enum OperatorCommand {
    /// Read a password from standard input (one line) and print its hash for `password_hash`.
    HashPassword,
}

/// Console passwords shorter than this are refused: the hash slows guessing, it cannot stop it.
const MIN_PASSWORD_CHARS: usize = 12;

pub fn run(cmd: OperatorCommand) -> Result<()> {
    match cmd {
        OperatorCommand::HashPassword => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .context("reading the password from standard input")?;
            let password = input.lines().next().unwrap_or("");
            if password.chars().count() < MIN_PASSWORD_CHARS {
                bail!("the password is too short ({MIN_PASSWORD_CHARS} characters at least)");
            }
            let phc = passage_http::hash_password(password).map_err(anyhow::Error::msg)?;
            println!("{phc}");
            Ok(())
        }
    }
}
