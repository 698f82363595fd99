//! `trailwatch-bench`: writes seeded benchmark captures and the demo capture, and measures the
//! sensor against tcpdump on them.

mod capture;
mod demo;
mod dns;
mod flood;
mod frame;
mod generate;
mod http;
mod measure;
mod network;
mod report;
mod rng;
mod run;
mod tls;
mod traffic;
mod trails;

use std::ffi::OsString;
use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Default output of `demo`: the copy shipped in the repository.
const DEFAULT_DEMO_OUTPUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../samples/demo.pcap");

#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a seeded benchmark capture (Ethernet pcap) with planted trail hits.
    Gen {
        /// Number of frames to write.
        #[arg(long, default_value_t = 1_000_000)]
        packets: u64,
        /// Seed of the generator; the same seed and trails give a byte-identical file.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Trail tree to sample planted indicators from.
        #[arg(long, default_value = trails::DEFAULT_TRAILS_DIR)]
        trails: PathBuf,
        /// Share (0 to 1) of DNS queries, HTTP requests, TLS ClientHellos and TCP SYNs that
        /// carry a listed indicator.
        #[arg(long, default_value_t = generate::DEFAULT_HIT_RATIO)]
        hit_ratio: f64,
        /// Write a flood instead: every packet from a new random source, to random ports,
        /// with random DNS names, to check that the sensor's tables stay bounded. Ignores
        /// `--trails` and `--hit-ratio`.
        #[arg(long)]
        flood: bool,
        /// Output file; `-` writes to standard output.
        #[arg(short = 'o', long)]
        output: PathBuf,
    },
    /// Write the demo capture: one workstation contacting listed malware hosts among benign
    /// traffic.
    Demo {
        /// Output file.
        #[arg(short = 'o', long, default_value = DEFAULT_DEMO_OUTPUT)]
        output: PathBuf,
        /// Trail tree that must list every planted indicator.
        #[arg(long, default_value = trails::DEFAULT_TRAILS_DIR)]
        trails: PathBuf,
    },
    /// Time tcpdump and the sensor on a generated capture and print the figures.
    Run {
        /// Number of frames in the capture.
        #[arg(long, default_value_t = 1_000_000)]
        packets: u64,
        /// Seed of the capture generator.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Trail tree to sample planted indicators from (the sensor loads its default set).
        #[arg(long, default_value = trails::DEFAULT_TRAILS_DIR)]
        trails: PathBuf,
        /// Share (0 to 1) of DNS, HTTP, TLS and SYN packets that carry a listed indicator.
        #[arg(long, default_value_t = generate::DEFAULT_HIT_RATIO)]
        hit_ratio: f64,
        /// Sensor binary [default: target/release/trailwatch-sensor in the workspace, else
        /// next to this executable].
        #[arg(long)]
        sensor: Option<PathBuf>,
        /// Trails the sensor loads, passed to it as `--trails`: a compiled store file or a text
        /// trail folder [default: the sensor's own default set].
        #[arg(long, value_name = "PATH")]
        sensor_trails: Option<PathBuf>,
        /// Directory for the capture, sensor logs, stats and command output
        /// [default: trailwatch-bench in the system temporary directory].
        #[arg(long)]
        workdir: Option<PathBuf>,
        /// How many times tcpdump and the sensor each run; the best time counts.
        #[arg(long, default_value_t = 3)]
        repeats: u32,
        /// Also write the figures as JSON to this file.
        #[arg(long)]
        json_out: Option<PathBuf>,
    },
    /// Run a command and print its wall time and peak RSS as JSON (used by `run`).
    #[command(hide = true)]
    MeasureChild {
        #[arg(long)]
        stdout: PathBuf,
        #[arg(long)]
        stderr: PathBuf,
        program: PathBuf,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
}

fn main() -> ExitCode {
    match execute(Cli::parse().command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn execute(command: Command) -> Result<(), String> {
    match command {
        Command::Gen {
            packets,
            seed,
            trails,
            hit_ratio,
            flood,
            output,
        } => {
            if flood {
                let started = std::time::Instant::now();
                let totals =
                    flood::generate_flood(packets, seed, &output).map_err(|e| e.to_string())?;
                eprintln!(
                    "wrote {} flood packets ({} bytes of frames) to {} in {:.2} s",
                    totals.packets,
                    totals.frame_bytes,
                    output.display(),
                    started.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            let options = generate::GenOptions {
                packets,
                seed,
                trails,
                hit_ratio,
            };
            let report = generate::generate(&options, &output).map_err(|e| e.to_string())?;
            generate::print_report(&report, &output);
        }
        Command::Demo { output, trails } => {
            demo::verify_planted(&trails).map_err(|e| e.to_string())?;
            let totals = demo::write_demo(&output).map_err(|e| e.to_string())?;
            eprintln!(
                "wrote {} packets ({} bytes of frames) to {}",
                totals.packets,
                totals.frame_bytes,
                output.display()
            );
        }
        Command::Run {
            packets,
            seed,
            trails,
            hit_ratio,
            sensor,
            sensor_trails,
            workdir,
            repeats,
            json_out,
        } => {
            let gen = generate::GenOptions {
                packets,
                seed,
                trails,
                hit_ratio,
            };
            let workdir = workdir.unwrap_or_else(|| std::env::temp_dir().join("trailwatch-bench"));
            let options = run::RunOptions {
                gen,
                sensor,
                sensor_trails,
                workdir,
                repeats,
            };
            let result = run::run(&options).map_err(|e| e.to_string())?;

            print!("{}", result.to_table());
            if let Some(path) = json_out {
                let json = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?;
                fs::write(&path, json + "\n")
                    .map_err(|e| format!("failed to write {}: {e}", path.display()))?;
            }
        }
        Command::MeasureChild {
            stdout,
            stderr,
            program,
            args,
        } => {
            let output = measure::OutputFiles { stdout, stderr };
            let usage =
                measure::measure_child(&program, &args, &output).map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::to_string(&usage).map_err(|e| e.to_string())?
            );
        }
    }
    Ok(())
}
