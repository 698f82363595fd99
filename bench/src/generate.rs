//! The `gen` command: a seeded benchmark capture with planted trail hits.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::capture::{CaptureError, CaptureTotals, CaptureWriter};
use crate::network::Network;
use crate::rng::Rng;
use crate::traffic::{Mix, PlantedHits};
use crate::trails::{self, TrailsError};

/// Default share of DNS queries, HTTP requests, TLS ClientHellos and SYNs that carry a hit.
pub const DEFAULT_HIT_RATIO: f64 = 0.001;

/// Parameters of one generated capture. The same values and the same trail tree always give
/// a byte-identical file.
#[derive(Clone, Debug, PartialEq)]
pub struct GenOptions {
    pub packets: u64,
    pub seed: u64,
    pub trails: PathBuf,
    pub hit_ratio: f64,
}

/// A failure of the `gen` command.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("invalid hit ratio {0}: expected a value from 0 to 1")]
    HitRatio(f64),
    #[error(transparent)]
    Trails(#[from] TrailsError),
    #[error(transparent)]
    Capture(#[from] CaptureError),
}

/// Summary of a finished `gen` run.
#[derive(Clone, Copy, Debug)]
pub struct GenReport {
    pub totals: CaptureTotals,
    pub hits: PlantedHits,
    pub elapsed: Duration,
}

/// Writes the capture described by `options` to `output`.
pub fn generate(options: &GenOptions, output: &Path) -> Result<GenReport, GenError> {
    if !(0.0..=1.0).contains(&options.hit_ratio) {
        return Err(GenError::HitRatio(options.hit_ratio));
    }
    let started = Instant::now();

    // Separate streams, so that a change in one stage does not reshuffle the others.
    let mut root = Rng::new(options.seed);
    let mut trails_rng = root.fork(1);
    let mut network_rng = root.fork(2);
    let mix_rng = root.fork(3);

    let (sample, listed) = trails::scan(&options.trails, &mut trails_rng)?;
    let network = Network::build(&mut network_rng, &listed);
    drop(listed);

    let mut writer = CaptureWriter::create(output)?;
    let mut mix = Mix::new(network, &sample, mix_rng, options.hit_ratio);
    mix.write_frames(&mut writer, options.packets);
    let totals = writer.finish()?;

    Ok(GenReport {
        totals,
        hits: mix.hits(),
        elapsed: started.elapsed(),
    })
}

/// Prints the summary of a `gen` run to standard error, so that `-o -` keeps standard output
/// for the capture.
pub fn print_report(report: &GenReport, output: &Path) {
    let hits = &report.hits;
    eprintln!(
        "wrote {} packets ({} bytes of frames) to {} in {:.2} s",
        report.totals.packets,
        report.totals.frame_bytes,
        output.display(),
        report.elapsed.as_secs_f64()
    );
    eprintln!("planted hits: {} packets", hits.total());
    eprintln!(
        "  dns_query    {:>6}  (each response repeats the name)",
        hits.dns_query
    );
    eprintln!("  tls_sni      {:>6}", hits.tls_sni);
    eprintln!("  http_host    {:>6}", hits.http_host);
    eprintln!("  http_url     {:>6}", hits.http_url);
    eprintln!("  syn_ip_port  {:>6}", hits.syn_ip_port);
    eprintln!("  syn_ip       {:>6}", hits.syn_ip);
}
