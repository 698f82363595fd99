//! `--check`: validate everything the sensor needs before an init script starts it, without
//! capturing or starting any output.

use std::path::Path;

use nix::unistd::User;
use trailwatch_outputs::{Context, Outputs};

use crate::capture::{self, live, live::LiveCapture};
use crate::cli::Args;
use crate::config::{CaptureConfig, TrailsConfig};
use crate::privileges;
use crate::run::{self, RunError};
use crate::settings::{Settings, Source};
use crate::trails;

/// Checks the configuration, every capture file or interface, the filter, the trails, the
/// whitelist and ignore rules, the user to switch to, the log folder and the outputs. Returns
/// every problem found, so an empty list means the sensor can start.
///
/// A problem in the configuration file itself is the only one reported alone, because the
/// other checks need its values.
pub fn check(args: &Args) -> Vec<String> {
    let settings = match Settings::load(args) {
        Ok(settings) => settings,
        Err(error) => return vec![error.to_string()],
    };
    let mut problems = check_source(&settings);

    if let Err(error) = trails::load(&settings.trails) {
        let whitelist_failed = matches!(error, RunError::Whitelist(_));
        problems.push(error.to_string());
        // A bad whitelist stops the load before the trails are read, so they are checked
        // again without it.
        if whitelist_failed {
            let without_whitelist = TrailsConfig {
                whitelist: None,
                ..settings.trails.clone()
            };
            if let Err(error) = trails::load(&without_whitelist) {
                problems.push(error.to_string());
            }
        }
    }
    if let Err(error) = run::load_ignore(&settings) {
        problems.push(error.to_string());
    }

    let user = match &settings.user {
        Some(name) => match privileges::lookup(name) {
            Ok(user) => Some(user),
            Err(error) => {
                // Folder and file access cannot be judged without the user.
                problems.push(error.to_string());
                let context = Context {
                    sensor_name: settings.sensor_name.clone(),
                };
                problems.extend(Outputs::check(&settings.outputs, &context));
                return problems;
            }
        },
        None => None,
    };
    let log_dir = WritableDir {
        dir: &settings.log_dir,
        what: "the event log folder",
        fix: "choose another --log-dir or [sensor] log_dir",
    };
    problems.extend(log_dir.check(user.as_ref()));
    problems.extend(check_outputs(&settings, user.as_ref()));
    problems
}

/// Checks that every capture file opens, or that every interface opens and the filter
/// compiles.
fn check_source(settings: &Settings) -> Vec<String> {
    match &settings.source {
        None => vec![RunError::NoSource.to_string()],
        Some(Source::Files(files)) => files
            .iter()
            .filter(|path| *path != Path::new("-"))
            .filter_map(|path| capture::offline::open(path).err())
            .map(|error| error.to_string())
            .collect(),
        Some(Source::Interfaces(names)) => check_interfaces(names, &settings.capture),
    }
}

/// Opens each interface on its own, then compiles the filter on the handles that opened, or
/// for Ethernet when none did, so a missing interface does not hide a bad filter.
fn check_interfaces(names: &[String], config: &CaptureConfig) -> Vec<String> {
    let mut problems = Vec::new();
    let unfiltered = CaptureConfig {
        filter: String::new(),
        ..config.clone()
    };
    let mut opened = Vec::new();
    for name in names {
        match LiveCapture::open(std::slice::from_ref(name), &unfiltered) {
            Ok(live) => opened.push(live),
            Err(error) => problems.push(error.to_string()),
        }
    }

    if config.filter.is_empty() {
        return problems;
    }
    let compiled = if opened.is_empty() {
        live::check_filter_without_interface(&config.filter)
    } else {
        opened
            .iter()
            .try_for_each(|live| live.check_filter(&config.filter))
    };
    if let Err(error) = compiled {
        problems.push(error.to_string());
    }
    problems
}

/// Checks the values of every output, and for delivery that the user the sensor runs as can
/// read the secret file and create or write the spool folder.
fn check_outputs(settings: &Settings, user: Option<&User>) -> Vec<String> {
    let context = Context {
        sensor_name: settings.sensor_name.clone(),
    };
    let mut problems = Outputs::check(&settings.outputs, &context);
    let Some(delivery) = &settings.outputs.delivery else {
        return problems;
    };

    // Outputs::check read the secret as the current user; a missing file is reported there.
    if let Some(user) = user {
        let secret = &delivery.secret_file;
        if secret.exists() && !privileges::user_can_read(user, secret) {
            problems.push(format!(
                "outputs.delivery.secret_file = {:?}: not readable by user {}, which the sensor \
                 switches to before it starts the outputs; give that user the file (chown {} \
                 and chmod 600) or read access through its group",
                secret.display().to_string(),
                user.name,
                user.name
            ));
        }
    }

    let spool = WritableDir {
        dir: &delivery.spool_dir,
        what: "the delivery spool folder",
        fix: "choose another outputs.delivery.spool_dir",
    };
    problems.extend(spool.check(user));
    problems
}

/// A folder the sensor writes to after start-up and creates when it is missing.
struct WritableDir<'a> {
    dir: &'a Path,
    /// Purpose of the folder, such as "the event log folder", which starts each message.
    what: &'static str,
    /// Next step that each message ends with.
    fix: &'static str,
}

impl WritableDir<'_> {
    /// Checks that the folder, or the nearest existing folder above it when it does not exist
    /// yet, is a folder that `user` (or the current user when `None`) can write.
    fn check(&self, user: Option<&User>) -> Option<String> {
        let (what, fix) = (self.what, self.fix);
        // A relative path has no existing ancestor of its own, so look from the working
        // directory, as the sensor does when it creates the folder.
        let Ok(absolute) = std::path::absolute(self.dir) else {
            return Some(format!(
                "{what} {} cannot be resolved against the working directory; {fix}",
                self.dir.display()
            ));
        };
        let dir = absolute.as_path();
        if dir.exists() && !dir.is_dir() {
            return Some(format!("{what} {} is not a folder; {fix}", dir.display()));
        }
        let Some(existing) = dir.ancestors().find(|path| path.exists()) else {
            return Some(format!(
                "{what} {} cannot be created, because no folder above it exists; {fix}",
                dir.display()
            ));
        };
        if !existing.is_dir() {
            return Some(format!(
                "{what} {} cannot be created, because {} is not a folder; {fix}",
                dir.display(),
                existing.display()
            ));
        }

        let (writable, user_name) = match user {
            Some(user) => (
                privileges::user_can_write(user, existing),
                user.name.clone(),
            ),
            None => (privileges::can_write(existing), current_user()),
        };
        if writable {
            return None;
        }
        let target = if existing == dir {
            format!("{what} {}", dir.display())
        } else {
            format!(
                "{}, where {what} {} would be created,",
                existing.display(),
                dir.display()
            )
        };
        Some(format!(
            "{target} is not writable by user {user_name}; give that user write access or {fix}"
        ))
    }
}

fn current_user() -> String {
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        _ => format!("uid {uid}"),
    }
}
