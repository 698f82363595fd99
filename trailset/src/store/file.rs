//! Store files: opening with a streaming checksum and a read-only mapping, and replacing
//! them atomically.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use memmap2::{Advice, Mmap};
#[cfg(target_os = "linux")]
use nix::fcntl::{posix_fadvise, PosixFadviseAdvice};
use xxhash_rust::xxh3::Xxh3;

use crate::store::error::{FormatError, StoreError};
use crate::store::header::check_header;
use crate::store::layout::HEADER_LEN;

/// Size of the buffer the checksum streams the file through.
const READ_BUFFER_LEN: usize = 256 * 1024;

/// Verifies the header and checksum of the store at `path` by reading it, then maps it
/// read-only.
///
/// The checksum pass reads through a small buffer, so the file's pages land in the page
/// cache but not in this process's resident set, and it reads without read-ahead, so they
/// are cached page by page. The mapping uses the same open file, so a store renamed over
/// `path` in between does not mix two files.
pub(crate) fn map_store(path: &Path) -> Result<Mmap, StoreError> {
    let invalid = |problem| StoreError::Invalid {
        path: Some(path.to_path_buf()),
        problem,
    };
    // O_NONBLOCK, so that a FIFO or device at the path cannot block the open; anything but a
    // regular file is then rejected.
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
        .open(path)
        .map_err(|e| StoreError::io("open", path, e))?;
    let metadata = file
        .metadata()
        .map_err(|e| StoreError::io("read", path, e))?;
    if !metadata.is_file() {
        let error = io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
        return Err(StoreError::io("open", path, error));
    }
    advise_file(&file, FileAdvice::Random);
    let len = metadata.len();

    let mut header = [0u8; HEADER_LEN];
    let header_len =
        read_up_to(&mut file, &mut header).map_err(|e| StoreError::io("read", path, e))?;
    let fields = check_header(&header[..header_len], len).map_err(invalid)?;

    let mut hasher = Xxh3::new();
    let mut buffer = vec![0u8; READ_BUFFER_LEN];
    let mut hashed = 0u64;
    loop {
        let read = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(StoreError::io("read", path, error)),
        };
        hasher.update(&buffer[..read]);
        hashed += read as u64;
    }
    let read_len = HEADER_LEN as u64 + hashed;
    if read_len != len {
        return Err(invalid(FormatError::LengthMismatch {
            expected: len,
            actual: read_len,
        }));
    }
    let computed = hasher.digest();
    if computed != fields.checksum {
        return Err(invalid(FormatError::ChecksumMismatch {
            stored: fields.checksum,
            computed,
        }));
    }

    let map = map_read_only(&file).map_err(|e| StoreError::io("map", path, e))?;
    if map.len() as u64 != len {
        return Err(invalid(FormatError::LengthMismatch {
            expected: len,
            actual: map.len() as u64,
        }));
    }
    // Lookups touch scattered pages. Without read-ahead and fault-around, each touched page
    // is the only one mapped in, which keeps the resident set small. Failing advice changes
    // nothing but that, so it is ignored.
    let _ = map.advise(Advice::Random);
    Ok(map)
}

/// Maps the whole file read-only.
///
/// The one `unsafe` call of the crate: a mapping shows later changes to the file, which Rust
/// cannot rule out. Stores are only ever replaced by renaming a new file over the old one
/// ([`write_store_atomic`]), never modified in place, so the mapped bytes do not change.
/// Should another program still rewrite the file, lookups return wrong results but cannot
/// read outside the mapping, because every read of the view is bounds-checked. Truncating
/// the file in place would make the next access to a lost page fail with SIGBUS.
#[allow(unsafe_code)]
fn map_read_only(file: &File) -> io::Result<Mmap> {
    // SAFETY: see above; the file is opened read-only and replaced only by rename.
    unsafe { Mmap::map(file) }
}

#[derive(Clone, Copy)]
enum FileAdvice {
    /// Reads are scattered, so read no more than asked.
    Random,
    /// The cached pages will not be needed.
    DontNeed,
}

/// Gives the kernel a hint about the file's page cache; a failed hint changes nothing else.
///
/// The hints keep the resident set of a mapped store small. Linux 6.18 (measured on this
/// project's build machine) caches a file written or read sequentially in large folios of up
/// to 2 MiB, and a fault on a mapping maps the whole folio. Pages read without read-ahead are
/// cached one by one, and then a fault maps only the 64 KiB around it (fault-around).
fn advise_file(file: &File, advice: FileAdvice) {
    #[cfg(target_os = "linux")]
    {
        let advice = match advice {
            FileAdvice::Random => PosixFadviseAdvice::POSIX_FADV_RANDOM,
            FileAdvice::DontNeed => PosixFadviseAdvice::POSIX_FADV_DONTNEED,
        };
        let _ = posix_fadvise(file, 0, 0, advice);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, advice);
}

/// Reads until `buffer` is full or the file ends, and returns the bytes read.
fn read_up_to(file: &mut File, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(read) => filled += read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Writes `bytes` to `path` atomically: to a temporary file in the same folder, which is
/// flushed to disk and renamed over `path`, and then the folder is flushed too. A reader
/// opening `path` gets either the old file or the new one, never a partial store. After a
/// crash, the path names one of the two.
pub fn write_store_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    static NEXT_TEMPORARY: AtomicU64 = AtomicU64::new(0);

    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let Some(name) = path.file_name() else {
        let error = io::Error::new(io::ErrorKind::InvalidInput, "the path has no file name");
        return Err(StoreError::io("write", path, error));
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    remove_stale_temporaries(folder, &prefix);
    let temporary: PathBuf = folder.join(format!(
        "{prefix}{}-{}",
        std::process::id(),
        NEXT_TEMPORARY.fetch_add(1, Ordering::Relaxed)
    ));

    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()?;
            // The written pages sit in large folios; dropping them lets the first reader
            // cache the store page by page (see `advise_file`).
            advise_file(&file, FileAdvice::DontNeed);
            Ok(())
        });
    if let Err(error) = written {
        let _ = fs::remove_file(&temporary);
        return Err(StoreError::io("write", temporary, error));
    }
    if let Err(error) = fs::rename(&temporary, path) {
        let _ = fs::remove_file(&temporary);
        return Err(StoreError::io("rename a temporary file over", path, error));
    }

    File::open(folder)
        .and_then(|folder| folder.sync_all())
        .map_err(|error| StoreError::io("flush the folder of", path, error))
}

/// Removes temporary files `<prefix><pid>-<n>` left in `folder` by writers that died before
/// renaming them (power loss, SIGKILL), so that repeated failures cannot fill the disk. A file
/// whose process still runs (`/proc/<pid>` exists) is another writer's and is kept.
fn remove_stale_temporaries(folder: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|name| name.strip_prefix(prefix)) else {
            continue;
        };
        let Some(pid) = rest
            .split('-')
            .next()
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_file(entry.path());
        }
    }
}
