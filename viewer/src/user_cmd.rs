//! The `user add|remove|list` subcommands.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::Path;

use nix::sys::termios::{self, LocalFlags, SetArg};
use thiserror::Error;

use crate::cli::{AddArgs, UserCommand};
use crate::users::{self, User, UserStore, UsersError};

/// Reason a user subcommand failed.
#[derive(Debug, Error)]
pub enum UserCommandError {
    #[error(transparent)]
    Users(#[from] UsersError),

    #[error("cannot read the password: {0}")]
    ReadPassword(io::Error),

    #[error("the two passwords differ; run the command again")]
    Mismatch,
}

/// Runs one user subcommand against the users file at `path`, writing results to `out`.
pub fn run(
    command: &UserCommand,
    path: &Path,
    out: &mut dyn Write,
) -> Result<(), UserCommandError> {
    match command {
        UserCommand::Add(args) => add(args, path, out),
        UserCommand::Remove { name } => {
            let mut store = UserStore::load(path)?;
            if !store.remove(name) {
                return Err(UsersError::NotFound {
                    name: name.clone(),
                    path: path.to_path_buf(),
                }
                .into());
            }
            store.save(path)?;
            let _ = writeln!(out, "removed user {name} from {}", path.display());
            Ok(())
        }
        UserCommand::Hash => {
            let hash = users::hash_password(&read_password()?)?;
            let _ = writeln!(out, "{hash}");
            Ok(())
        }
        UserCommand::List => {
            let store = UserStore::load(path)?;
            for user in &store.users {
                let access = if user.read_only {
                    "read-only"
                } else {
                    "read-write"
                };
                let networks: Vec<String> = user.networks.iter().map(|n| n.to_string()).collect();
                let scope = if networks.is_empty() {
                    "all networks".to_string()
                } else {
                    networks.join(",")
                };
                let _ = writeln!(out, "{}\t{access}\t{scope}", user.name);
            }
            Ok(())
        }
    }
}

fn add(args: &AddArgs, path: &Path, out: &mut dyn Write) -> Result<(), UserCommandError> {
    users::validate_name(&args.name)?;
    let mut store = UserStore::load(path)?;

    let password_hash = if args.hash {
        let hash = read_password()?;
        let hash = hash.trim();
        users::validate_hash(hash)?;
        hash.to_string()
    } else {
        users::hash_password(&read_password()?)?
    };
    let user = User {
        name: args.name.clone(),
        password_hash,
        read_only: args.read_only,
        networks: args.network.clone(),
    };
    let replaced = store.find(&args.name).is_some();
    store.upsert(user);
    store.save(path)?;

    let verb = if replaced { "updated" } else { "added" };
    let _ = writeln!(out, "{verb} user {} in {}", args.name, path.display());
    Ok(())
}

/// Reads the password: the first line of standard input when it is not a terminal, else two
/// prompts on the terminal with echo off, which must match.
fn read_password() -> Result<String, UserCommandError> {
    let stdin = io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(UserCommandError::ReadPassword)?;
        return Ok(trim_newline(line));
    }

    let first = prompt_hidden("Password: ")?;
    let second = prompt_hidden("Repeat password: ")?;
    if first != second {
        return Err(UserCommandError::Mismatch);
    }
    Ok(first)
}

fn prompt_hidden(prompt: &str) -> Result<String, UserCommandError> {
    let stdin = io::stdin();
    let saved = termios::tcgetattr(&stdin).map_err(|e| UserCommandError::ReadPassword(e.into()))?;
    let mut hidden = saved.clone();
    hidden.local_flags.remove(LocalFlags::ECHO);
    hidden.local_flags.insert(LocalFlags::ECHONL);

    eprint!("{prompt}");
    let _ = io::stderr().flush();
    termios::tcsetattr(&stdin, SetArg::TCSAFLUSH, &hidden)
        .map_err(|e| UserCommandError::ReadPassword(e.into()))?;
    let mut line = String::new();
    let result = stdin.lock().read_line(&mut line);

    // Restore echo before reporting any read error, so the terminal is never left silent.
    let _ = termios::tcsetattr(&stdin, SetArg::TCSAFLUSH, &saved);
    result.map_err(UserCommandError::ReadPassword)?;
    Ok(trim_newline(line))
}

fn trim_newline(mut line: String) -> String {
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    line
}
