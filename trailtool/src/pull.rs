//! Over-the-air store updates: `trailwatch-trails pull`.
//!
//! A central machine publishes a store and its detached signature over HTTP. A pull
//! downloads the store into a temporary file in the store's own folder, which is on the
//! persistent partition, so the final rename stays on one file system. It checks the
//! signature against the configured public key and opens the file as a store. Then it
//! fsyncs the file, renames it over the installed store and fsyncs the folder. Power loss or
//! a kill at any moment therefore leaves either the old or the new store in place, plus at
//! most one temporary file, which the next pull removes.
//!
//! The files beside `STORE` are `.STORE.pull.lock` (held while a pull runs),
//! `.STORE.pull-PID.tmp` (the download in progress) and `.STORE.pull.json` (the validators
//! and signature of the installed store, for the next conditional GET).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use trailwatch_trailset::{KindCounts, StoreError, TrailSet};

use crate::config::DownloadConfig;
use crate::fetch::{fetch, fetch_to_vec, FetchError, Fetched, Validators};
use crate::sign::{parse_signature, verify_bytes, SignError};

/// Maximum size of a signature file. A signature is 88 base64 characters.
const MAX_SIGNATURE_BYTES: u64 = 4096;

/// The URLs and public key of a pull.
#[derive(Clone, Debug)]
pub struct PullSource {
    pub update_url: String,
    pub signature_url: String,
    pub public_key: VerifyingKey,
}

/// The result of a pull that did not fail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PullOutcome {
    /// The server returned 304 Not Modified for the installed store.
    Unchanged,
    /// A new store was verified and installed.
    Installed { bytes: u64, counts: KindCounts },
}

/// A pull that failed. The installed store is unchanged in every case.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error("another pull holds the lock {}; try again when it ends", path.display())]
    Busy { path: PathBuf },

    #[error("failed to write {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },

    #[error("failed to download the store: {0}")]
    Store(FetchError),

    #[error("failed to download the signature: {0}")]
    Signature(FetchError),

    #[error("rejected the store: it is unsigned ({url} returned HTTP status {status})")]
    Unsigned { url: String, status: u16 },

    #[error("rejected the store: {0}")]
    Rejected(SignError),

    #[error("rejected the store: the signature is valid but the store is corrupt: {0}")]
    Corrupt(StoreError),
}

/// Downloads, verifies and installs the published store at `store`.
///
/// NOTE: the signature covers the store bytes only, with no serial number or build time, so a
/// party between the publisher and the sensor can replay an older validly signed store.
pub fn pull(
    source: &PullSource,
    store: &Path,
    options: &DownloadConfig,
) -> Result<PullOutcome, PullError> {
    let files = PullFiles::new(store);
    fs::create_dir_all(&files.folder).map_err(|source| PullError::Io {
        path: files.folder.clone(),
        source,
    })?;
    let _lock = files.lock()?;
    files.remove_stale_temporaries()?;

    let installed = files.installed_state(&source.public_key);
    let validators = installed.map(|state| state.validators).unwrap_or_default();

    let temporary = Temporary::create(files.temporary())?;
    let mut writer = BufWriter::new(&temporary.file);
    let fetched = fetch(
        &source.update_url,
        &validators,
        options,
        options.max_bytes,
        &mut writer,
    )
    .map_err(PullError::Store)?;
    let validators = match fetched {
        Fetched::NotModified => return Ok(PullOutcome::Unchanged),
        Fetched::Body { validators, .. } => validators,
    };
    writer
        .flush()
        .map_err(|source| temporary.io_error(source))?;
    drop(writer);

    let signature_text = download_signature(source, options)?;
    let signature = parse_signature(&signature_text, Path::new(&source.signature_url))
        .map_err(PullError::Rejected)?;
    let bytes = fs::read(&temporary.path).map_err(|source| temporary.io_error(source))?;
    verify_bytes(&source.public_key, &bytes, &signature).map_err(PullError::Rejected)?;
    let size = bytes.len() as u64;
    drop(bytes);

    let counts = TrailSet::open(&temporary.path)
        .map_err(PullError::Corrupt)?
        .counts();

    temporary
        .file
        .sync_all()
        .map_err(|source| temporary.io_error(source))?;
    temporary.install(store)?;
    sync_folder(&files.folder)?;

    let state = InstalledState {
        validators,
        signature: String::from_utf8_lossy(&signature_text).trim().to_owned(),
    };
    files.write_state(&state)?;
    Ok(PullOutcome::Installed {
        bytes: size,
        counts,
    })
}

fn download_signature(source: &PullSource, options: &DownloadConfig) -> Result<Vec<u8>, PullError> {
    let fetched = fetch_to_vec(
        &source.signature_url,
        &Validators::default(),
        options,
        MAX_SIGNATURE_BYTES,
    );
    match fetched {
        Ok((_, text)) => Ok(text),
        Err(FetchError::Status { url, status, .. }) if status == 404 || status == 410 => {
            Err(PullError::Unsigned { url, status })
        }
        Err(error) => Err(PullError::Signature(error)),
    }
}

/// The validators and signature of the installed store.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct InstalledState {
    #[serde(flatten)]
    validators: Validators,
    /// The signature file as downloaded, base64.
    signature: String,
}

/// The names of the files a pull keeps beside the store.
struct PullFiles {
    store: PathBuf,
    folder: PathBuf,
    /// `.STORE.pull`, the prefix of every other name.
    prefix: String,
}

impl PullFiles {
    fn new(store: &Path) -> PullFiles {
        let folder = store
            .parent()
            .filter(|folder| !folder.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let name = store
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| "trails.store".to_owned());
        PullFiles {
            store: store.to_path_buf(),
            folder,
            prefix: format!(".{name}.pull"),
        }
    }

    fn temporary(&self) -> PathBuf {
        self.folder
            .join(format!("{}-{}.tmp", self.prefix, std::process::id()))
    }

    fn state_path(&self) -> PathBuf {
        self.folder.join(format!("{}.json", self.prefix))
    }

    /// Takes the pull lock, so that two pulls never remove each other's download.
    fn lock(&self) -> Result<Flock<File>, PullError> {
        let path = self.folder.join(format!("{}.lock", self.prefix));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&path)
            .map_err(|source| PullError::Io {
                path: path.clone(),
                source,
            })?;
        Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|_| PullError::Busy { path })
    }

    /// Removes downloads left by pulls that were killed. Runs under the lock.
    fn remove_stale_temporaries(&self) -> Result<(), PullError> {
        let entries = fs::read_dir(&self.folder).map_err(|source| PullError::Io {
            path: self.folder.clone(),
            source,
        })?;

        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&self.prefix) && name.ends_with(".tmp") {
                log::info!("removing the stale download {}", entry.path().display());
                fs::remove_file(entry.path()).map_err(|source| PullError::Io {
                    path: entry.path(),
                    source,
                })?;
            }
        }
        Ok(())
    }

    /// Reads the state of the installed store. `None` unless the store exists and still
    /// verifies against the recorded signature with `key`, so that a store replaced by hand,
    /// damaged on disk or signed by a former key is downloaded again in full.
    fn installed_state(&self, key: &VerifyingKey) -> Option<InstalledState> {
        let text = fs::read(self.state_path()).ok()?;
        let state: InstalledState = serde_json::from_slice(&text).ok()?;
        let signature = parse_signature(state.signature.as_bytes(), &self.state_path()).ok()?;

        let bytes = fs::read(&self.store).ok()?;
        verify_bytes(key, &bytes, &signature).ok()?;
        Some(state)
    }

    fn write_state(&self, state: &InstalledState) -> Result<(), PullError> {
        let path = self.state_path();
        let io_error = |source| PullError::Io {
            path: path.clone(),
            source,
        };

        let text = serde_json::to_vec_pretty(state).map_err(|e| io_error(io::Error::other(e)))?;
        let temporary = self.folder.join(format!("{}.json.tmp", self.prefix));
        let mut file = File::create(&temporary).map_err(io_error)?;
        file.write_all(&text)
            .and_then(|()| file.sync_all())
            .map_err(io_error)?;
        fs::rename(&temporary, &path).map_err(io_error)
    }
}

/// A download in progress, removed on drop unless installed.
struct Temporary {
    path: PathBuf,
    file: File,
    installed: bool,
}

impl Temporary {
    fn create(path: PathBuf) -> Result<Temporary, PullError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&path)
            .map_err(|source| PullError::Io {
                path: path.clone(),
                source,
            })?;
        Ok(Temporary {
            path,
            file,
            installed: false,
        })
    }

    fn io_error(&self, source: io::Error) -> PullError {
        PullError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Renames the download over `store`.
    fn install(mut self, store: &Path) -> Result<(), PullError> {
        fs::rename(&self.path, store).map_err(|source| PullError::Io {
            path: store.to_path_buf(),
            source,
        })?;
        self.installed = true;
        Ok(())
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        if !self.installed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Fsyncs a folder, so that a rename in it survives power loss.
fn sync_folder(folder: &Path) -> Result<(), PullError> {
    File::open(folder)
        .and_then(|folder| folder.sync_all())
        .map_err(|source| PullError::Io {
            path: folder.to_path_buf(),
            source,
        })
}
