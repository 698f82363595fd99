//! `--check`: validate everything the sensor needs before an init script starts it, without
//! capturing or starting any output.

use std::path::Path;

use crate::capture::{self, live::LiveCapture};
use crate::cli::Args;
use crate::privileges;
use crate::run::{self, RunError};
use crate::settings::{Settings, Source};
use crate::trails;

/// Checks the configuration, the trails, the whitelist and ignore rules, every capture file or
/// interface (with the filter compiled on it), the user to switch to, and whether the log
/// folder is writable. Returns every problem found, so an empty list means the sensor can
/// start.
///
/// NOTE: the `[outputs]` table is only parsed; `trailwatch_outputs` has no way to check
/// values such as addresses without starting the outputs.
pub fn check(args: &Args) -> Vec<String> {
    let settings = match Settings::load(args) {
        Ok(settings) => settings,
        Err(error) => return vec![error.to_string()],
    };
    let mut problems = Vec::new();

    match &settings.source {
        None => problems.push(RunError::NoSource.to_string()),
        Some(Source::Files(files)) => {
            for path in files.iter().filter(|path| *path != Path::new("-")) {
                if let Err(error) = capture::offline::open(path) {
                    problems.push(error.to_string());
                }
            }
        }
        Some(Source::Interfaces(names)) => {
            for name in names {
                let single = std::slice::from_ref(name);
                if let Err(error) = LiveCapture::open(single, &settings.capture) {
                    problems.push(error.to_string());
                }
            }
        }
    }

    if let Err(error) = trails::load(&settings.trails) {
        problems.push(error.to_string());
    }
    if let Err(error) = run::load_ignore(&settings) {
        problems.push(error.to_string());
    }
    problems.extend(check_log_dir(&settings));
    problems
}

/// Checks that the log folder, or the nearest existing folder above it when it does not exist
/// yet, is writable by the user the sensor runs as after start-up.
fn check_log_dir(settings: &Settings) -> Option<String> {
    let dir = &settings.log_dir;
    if dir.exists() && !dir.is_dir() {
        return Some(format!(
            "the event log folder {} is not a folder; choose another --log-dir",
            dir.display()
        ));
    }
    let existing = dir.ancestors().find(|path| path.exists())?;

    let (writable, user) = match &settings.user {
        Some(name) => match privileges::lookup(name) {
            Ok(user) => (privileges::user_can_write(&user, existing), name.clone()),
            Err(error) => return Some(error.to_string()),
        },
        None => (privileges::can_write(existing), current_user()),
    };
    if writable {
        return None;
    }
    let target = if existing == dir.as_path() {
        format!("the event log folder {}", dir.display())
    } else {
        format!(
            "{}, where the event log folder {} would be created,",
            existing.display(),
            dir.display()
        )
    };
    Some(format!(
        "{target} is not writable by user {user}; give that user write access or choose another \
         --log-dir"
    ))
}

fn current_user() -> String {
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => format!("uid {uid}"),
    }
}
