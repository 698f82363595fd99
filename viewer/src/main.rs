//! The `trailwatch-viewer` binary: serve the viewer, check its configuration, or manage users.

use std::process::ExitCode;

use clap::Parser;
use log::{error, info};
use nix::sys::signal::{SigSet, Signal};
use trailwatch_relay::Secret;

use trailwatch_viewer::cli::{Cli, Command};
use trailwatch_viewer::http::tls;
use trailwatch_viewer::users::UserStore;
use trailwatch_viewer::{setup_code, user_cmd, Config, Overrides, ViewerServer};

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cli = Cli::parse();

    let overrides = Overrides {
        listen: cli.listen.clone(),
        log_dir: cli.log_dir.clone(),
        users_file: cli.users.clone(),
    };
    let config = match Config::load(cli.config.as_deref(), &overrides) {
        Ok(config) => config,
        Err(failure) => {
            eprintln!("trailwatch-viewer: {failure}");
            return ExitCode::FAILURE;
        }
    };

    if let Some(Command::User(command)) = &cli.command {
        let mut stdout = std::io::stdout();
        return match user_cmd::run(command, &config.users_file, &mut stdout) {
            Ok(()) => ExitCode::SUCCESS,
            Err(failure) => {
                eprintln!("trailwatch-viewer: {failure}");
                ExitCode::FAILURE
            }
        };
    }

    if cli.check {
        return check(&config);
    }

    info!(
        "starting trailwatch-viewer {}, logs in {}, users in {}",
        env!("CARGO_PKG_VERSION"),
        config.log_dir.display(),
        config.users_file.display()
    );
    // Blocked here, SIGINT and SIGTERM stay blocked in every thread started below, so that
    // only the wait below takes them and the server stops cleanly.
    let stop_signals = stop_signals();
    if let Err(failure) = stop_signals.thread_block() {
        error!("cannot block SIGINT and SIGTERM: {failure}");
        return ExitCode::FAILURE;
    }
    match ViewerServer::start(config) {
        Ok(server) => {
            match stop_signals.wait() {
                Ok(signal) => info!("{signal} received, stopping"),
                Err(failure) => error!("waiting for a stop signal failed: {failure}; stopping"),
            }
            server.stop();
            info!("trailwatch-viewer stopped");
            ExitCode::SUCCESS
        }
        Err(failure) => {
            error!("cannot start: {failure}");
            ExitCode::FAILURE
        }
    }
}

/// Returns the setup code file when `[data] setup_code` is set and the file holds a usable code,
/// so that a viewer without users still has a way to get its first one.
fn setup_pending(config: &Config) -> Result<&std::path::Path, ()> {
    let code_file = config.setup_code_file.as_deref().ok_or(())?;
    match setup_code::read(code_file) {
        Ok(Some(_)) => Ok(code_file),
        Ok(None) => {
            eprintln!(
                "trailwatch-viewer: no setup code of at least {} characters in {}",
                setup_code::MIN_CODE_LEN,
                code_file.display()
            );
            Err(())
        }
        Err(failure) => {
            eprintln!(
                "trailwatch-viewer: cannot read setup code {}: {failure}",
                code_file.display()
            );
            Err(())
        }
    }
}

fn stop_signals() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set
}

/// Validates what the server would load at start and prints the outcome.
fn check(config: &Config) -> ExitCode {
    let mut problems = Vec::new();
    match UserStore::load(&config.users_file) {
        Ok(store) if store.users.is_empty() => match setup_pending(config) {
            Ok(code_file) => println!(
                "no users yet: the first one is created on /setup with the code in {}",
                code_file.display()
            ),
            Err(()) => problems.push(format!(
                "no users in {}; create one with: trailwatch-viewer user add NAME --users {}",
                config.users_file.display(),
                config.users_file.display()
            )),
        },
        Ok(_) => {}
        Err(failure) => problems.push(failure.to_string()),
    }
    if let Some(files) = &config.tls {
        if let Err(failure) = tls::load(files) {
            problems.push(failure.to_string());
        }
    }
    if let Some(secret_file) = &config.intake.secret_file {
        if let Err(failure) = Secret::from_file(secret_file) {
            problems.push(format!("[intake] secret_file: {failure}"));
        }
    }
    match std::fs::metadata(&config.log_dir) {
        Ok(metadata) if metadata.is_dir() => {}
        Ok(_) => problems.push(format!(
            "log folder {} is not a folder; set --log-dir or [data] log_dir to the folder the \
             sensor writes its daily logs to",
            config.log_dir.display()
        )),
        Err(failure) if failure.kind() == std::io::ErrorKind::NotFound => problems.push(format!(
            "log folder {} does not exist; the viewer shows no events until the sensor \
                 creates it",
            config.log_dir.display()
        )),
        Err(failure) => problems.push(format!(
            "cannot read log folder {}: {failure}",
            config.log_dir.display()
        )),
    }

    if problems.is_empty() {
        println!("configuration is valid");
        return ExitCode::SUCCESS;
    }
    for problem in &problems {
        eprintln!("trailwatch-viewer: {problem}");
    }
    ExitCode::FAILURE
}
