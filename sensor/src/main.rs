use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser;
use trailwatch_sensor::cli::Args;
use trailwatch_sensor::{check, run};

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(&args);

    if args.check {
        let problems = check::check(&args);
        for problem in &problems {
            println!("{problem}");
        }
        if problems.is_empty() {
            println!("ok");
            return ExitCode::SUCCESS;
        }
        return ExitCode::from(1);
    }

    match run::run(&args) {
        Ok(outcome) => {
            if !args.quiet {
                // A closed or full standard error must not turn a finished run into a panic.
                let _ = std::io::stderr().write_all(outcome.counters.report().as_bytes());
            }
            if outcome.is_complete() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => {
            log::error!("{error}");
            ExitCode::from(2)
        }
    }
}

/// Logs go to standard error: info by default, `-v` debug, `-vv` trace, `-q` warnings only.
/// `RUST_LOG` overrides the flags.
fn init_logging(args: &Args) {
    let level = match (args.quiet, args.verbose) {
        (true, _) => log::LevelFilter::Warn,
        (false, 0) => log::LevelFilter::Info,
        (false, 1) => log::LevelFilter::Debug,
        (false, _) => log::LevelFilter::Trace,
    };
    env_logger::Builder::new()
        .filter_level(level)
        .parse_default_env()
        .format_target(false)
        .init();
}
