use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use trailwatch_trails::cli::{Cli, Command};
use trailwatch_trails::compile::{compile_trees, load_whitelist};
use trailwatch_trails::config::{Config, DownloadConfig};
use trailwatch_trails::inspect::{self, Query};
use trailwatch_trails::pull::{pull, PullOutcome, PullSource};
use trailwatch_trails::schedule::{run_forever, StopSignal};
use trailwatch_trails::sign::{self, SignError};
use trailwatch_trails::update::{run_update, FeedReport, UpdateReport};
use trailwatch_trailset::TrailSet;

/// A command failed; its message already names the file, URL or value and the cause.
type Failure = Box<dyn Error>;

/// Prints a line to standard output and ignores write errors, so that `stats | head` does
/// not panic on the closed pipe and an update whose reader went away still writes its store.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);

    match run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}

fn run(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Compile {
            trails,
            whitelist,
            output,
        } => compile(&trails, whitelist.as_deref(), &output),
        Command::Update { config } => update(config.as_deref()),
        Command::Lookup { store, indicator } => lookup(&store, &indicator),
        Command::Stats { store } => {
            say!("{}", inspect::stats(&TrailSet::open(&store)?).trim_end());
            Ok(ExitCode::SUCCESS)
        }
        Command::Keygen { output } => {
            sign::generate_key(&output)?;
            say!(
                "wrote the secret key {} and the public key {}",
                output.display(),
                sign::public_key_path(&output).display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Sign { key, store } => {
            // Signing a file that is not a valid store would publish something every sensor
            // rejects, so the store is checked first.
            TrailSet::open(&store)?;
            let path = sign::sign_file(&sign::read_signing_key(&key)?, &store)?;
            say!("wrote {}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify { public_key, store } => verify(&public_key, &store),
        Command::Pull {
            config,
            url,
            public_key,
            output,
        } => {
            let (source, store, options) = match (config, url, public_key, output) {
                (Some(config), _, _, _) => pull_settings(&Config::load(&config)?)?,
                (None, Some(url), Some(public_key), Some(output)) => {
                    let source = PullSource {
                        signature_url: format!("{url}.sig"),
                        update_url: url,
                        public_key: sign::read_verifying_key(&public_key)?,
                    };
                    (source, output, DownloadConfig::default())
                }
                _ => return Err("pull needs -c FILE, or --url, --public-key and -o".into()),
            };
            pull_once(&source, &store, &options)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Daemon { config } => daemon(&config),
    }
}

fn compile(
    trails: &[PathBuf],
    whitelist: Option<&Path>,
    output: &Path,
) -> Result<ExitCode, Failure> {
    let whitelist = load_whitelist(whitelist)?;
    let compiled = compile_trees(trails, whitelist.as_ref(), output)?;
    say!(
        "wrote {} ({} bytes): {}",
        output.display(),
        compiled.bytes,
        compiled.report
    );
    for bad in &compiled.report.bad_lines {
        log::debug!("skipped trail line {bad}");
    }
    Ok(ExitCode::SUCCESS)
}

fn update(config: Option<&Path>) -> Result<ExitCode, Failure> {
    let config = match config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };

    let report = run_update(&config, &mut |feed: &FeedReport| say!("{feed}"))?;
    say!("{report}");
    Ok(update_exit_code(&report))
}

fn update_exit_code(report: &UpdateReport) -> ExitCode {
    match report.no_feed_data() {
        true => {
            eprintln!(
                "error: every enabled feed failed and none had cached entries; the store contains \
                 only the trail trees"
            );
            ExitCode::from(3)
        }
        false => ExitCode::SUCCESS,
    }
}

fn lookup(store: &Path, indicator: &str) -> Result<ExitCode, Failure> {
    let query = Query::parse(indicator)?;
    let set = TrailSet::open(store)?;

    let matches = inspect::lookup(&set, &query);
    if matches.is_empty() {
        say!("not listed: {indicator}");
        return Ok(ExitCode::from(1));
    }
    for found in matches {
        say!("{found}");
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(public_key: &Path, store: &Path) -> Result<ExitCode, Failure> {
    let key = sign::read_verifying_key(public_key)?;
    match sign::verify_file(&key, store) {
        Ok(()) => {
            say!("valid signature: {}", store.display());
            Ok(ExitCode::SUCCESS)
        }
        Err(SignError::Mismatch) => {
            say!("{}: {}", store.display(), SignError::Mismatch);
            Ok(ExitCode::from(1))
        }
        Err(error) => Err(error.into()),
    }
}

fn pull_settings(config: &Config) -> Result<(PullSource, PathBuf, DownloadConfig), Failure> {
    let ota = config
        .ota
        .as_ref()
        .ok_or("the configuration has no [ota] table with update_url and public_key")?;
    let source = PullSource {
        update_url: ota.update_url.clone(),
        signature_url: ota.signature_url(),
        public_key: sign::read_verifying_key(&ota.public_key)?,
    };
    Ok((source, config.store.clone(), config.download.clone()))
}

fn pull_once(source: &PullSource, store: &Path, options: &DownloadConfig) -> Result<(), Failure> {
    let started = Instant::now();
    match pull(source, store, options)? {
        PullOutcome::Unchanged => say!("{}: unchanged", store.display()),
        PullOutcome::Installed { bytes, counts } => say!(
            "{}: installed {bytes} bytes from {} in {:.2} s ({counts})",
            store.display(),
            source.update_url,
            started.elapsed().as_secs_f64()
        ),
    }
    Ok(())
}

fn daemon(config_path: &Path) -> Result<ExitCode, Failure> {
    // Signals are blocked before anything starts a thread.
    let stop = StopSignal::install()?;
    let config = Config::load(config_path)?;
    let pull_source = match config.ota.is_some() {
        true => Some(pull_settings(&config)?),
        false => None,
    };

    let mode = match pull_source.is_some() {
        true => "pull",
        false => "update",
    };
    log::info!(
        "daemon started with {}: {mode} every {} s plus up to {} s of jitter",
        config_path.display(),
        config.schedule.period_s,
        config.schedule.jitter_s
    );

    run_forever(&config.schedule, &stop, || match &pull_source {
        Some((source, store, options)) => {
            if let Err(error) = pull_once(source, store, options) {
                log::error!("pull failed: {error}");
            }
        }
        None => daemon_update(&config),
    });
    Ok(ExitCode::SUCCESS)
}

fn daemon_update(config: &Config) {
    let mut log_feed = |feed: &FeedReport| match feed.failed() {
        true => log::warn!("{feed}"),
        false => log::info!("{feed}"),
    };
    match run_update(config, &mut log_feed) {
        Ok(report) if report.no_feed_data() => {
            log::error!("every enabled feed failed and none had cached entries: {report}")
        }
        Ok(report) => log::info!("{report}"),
        Err(error) => log::error!("update failed: {error}"),
    }
}

/// Logs go to standard error: info by default, `-v` debug, `-vv` trace, `-q` warnings only.
fn init_logging(cli: &Cli) {
    let level = match (cli.quiet, cli.verbose) {
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
