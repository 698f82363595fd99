//! Wall time and peak resident set size of one child process.
//!
//! `getrusage(RUSAGE_CHILDREN)` reports the largest peak RSS among all children a process has
//! waited for, not the peak of the last one. So each measured command runs under a fresh copy
//! of this executable (the hidden `measure-child` command) that has exactly one child, and
//! whose children's peak is therefore that command's own peak.

use std::ffi::OsString;
use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// Resource use of one finished command.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChildUsage {
    /// From just before the spawn to the return of wait, in seconds.
    pub wall_seconds: f64,
    /// Peak resident set size, in KiB (Linux reports `ru_maxrss` in KiB).
    pub max_rss_kib: u64,
    /// Exit code, or `None` when a signal ended the command.
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
}

impl ChildUsage {
    /// Returns true when the command exited with status 0.
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// Returns the peak resident set size in megabytes of 10^6 bytes.
    pub fn max_rss_mb(&self) -> f64 {
        self.max_rss_kib as f64 * 1024.0 / 1e6
    }
}

/// A failure to run or measure a command.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    #[error("failed to find this executable to run the measuring helper: {0}")]
    CurrentExe(std::io::Error),
    #[error("failed to run {program}: {source}")]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to create output file {path}: {source}")]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("getrusage failed: {0}")]
    Usage(nix::Error),
    #[error("measuring helper failed for {program}: {message}")]
    Helper { program: PathBuf, message: String },
}

/// Destination files of a measured command's standard output and error.
#[derive(Clone, Debug)]
pub struct OutputFiles {
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

/// Runs `program` with `args` under the measuring helper and returns its usage. A command
/// that fails is still measured; check [`ChildUsage::succeeded`].
pub fn run_measured(
    program: &Path,
    args: &[OsString],
    output: &OutputFiles,
) -> Result<ChildUsage, MeasureError> {
    let helper = std::env::current_exe().map_err(MeasureError::CurrentExe)?;
    let result = Command::new(&helper)
        .arg("measure-child")
        .arg("--stdout")
        .arg(&output.stdout)
        .arg("--stderr")
        .arg(&output.stderr)
        .arg("--")
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|source| MeasureError::Spawn {
            program: helper.clone(),
            source,
        })?;

    let helper_error = |message: String| MeasureError::Helper {
        program: program.to_path_buf(),
        message,
    };
    if !result.status.success() {
        return Err(helper_error(
            String::from_utf8_lossy(&result.stderr).trim().to_string(),
        ));
    }
    serde_json::from_slice(&result.stdout).map_err(|error| helper_error(error.to_string()))
}

/// Body of the `measure-child` command: runs the command once, in this process's only child,
/// and returns its usage.
pub fn measure_child(
    program: &Path,
    args: &[OsString],
    output: &OutputFiles,
) -> Result<ChildUsage, MeasureError> {
    let create = |path: &Path| {
        File::create(path).map_err(|source| MeasureError::Output {
            path: path.to_path_buf(),
            source,
        })
    };
    let stdout = create(&output.stdout)?;
    let stderr = create(&output.stderr)?;

    let started = Instant::now();
    let status = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .status()
        .map_err(|source| MeasureError::Spawn {
            program: program.to_path_buf(),
            source,
        })?;
    let wall_seconds = started.elapsed().as_secs_f64();

    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map_err(MeasureError::Usage)?;
    Ok(ChildUsage {
        wall_seconds,
        max_rss_kib: u64::try_from(usage.max_rss()).unwrap_or(0),
        exit_code: status.code(),
        signal: status.signal(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> OutputFiles {
        OutputFiles {
            stdout: dir.join("out.txt"),
            stderr: dir.join("err.txt"),
        }
    }

    #[test]
    fn child_output_goes_to_files() {
        let dir = tempfile::tempdir().unwrap();
        let args: Vec<OsString> = vec!["-c".into(), "echo hello; echo oops >&2".into()];
        let usage = measure_child(Path::new("/bin/sh"), &args, &files(dir.path())).unwrap();
        assert!(usage.succeeded());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("out.txt")).unwrap(),
            "hello\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("err.txt")).unwrap(),
            "oops\n"
        );
    }

    #[test]
    fn exit_code_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let args: Vec<OsString> = vec!["-c".into(), "exit 3".into()];
        let usage = measure_child(Path::new("/bin/sh"), &args, &files(dir.path())).unwrap();
        assert_eq!(usage.exit_code, Some(3));
    }

    #[test]
    fn missing_program_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let result = measure_child(Path::new("/nonexistent/prog"), &[], &files(dir.path()));
        assert!(matches!(result, Err(MeasureError::Spawn { .. })));
    }
}
