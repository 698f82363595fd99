//! Fsyncs of the spool's segment files and folder.

use std::fs::File;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use crate::atomic_file::sync_dir;
use crate::spool::{Spool, SpoolError};

/// Files to fsync, taken from a spool with [`Spool::begin_sync`] so that the fsync can run
/// without holding the lock that guards the spool.
#[derive(Debug)]
pub struct SyncTicket {
    files: Vec<Arc<File>>,
    dir: Option<PathBuf>,
    dir_generation: u64,
    through: u64,
}

impl SyncTicket {
    /// Fsyncs the files, then the folder if segments were created since the last sync.
    pub fn run(&self) -> io::Result<()> {
        for file in &self.files {
            file.sync_data()?;
        }
        if let Some(dir) = &self.dir {
            sync_dir(dir)?;
        }
        Ok(())
    }
}

impl Spool {
    /// Returns the files that need an fsync before every appended record is on disk, or
    /// `None` when everything is synced or the spool is closed. Pass the ticket to [`Spool::finish_sync`] after
    /// [`SyncTicket::run`] succeeded.
    pub fn begin_sync(&self) -> Option<SyncTicket> {
        let active = self.active.as_ref()?;
        let through = self.next_sequence - 1;
        let dir_dirty = self.dir_generation != self.dir_synced_generation;
        if self.synced_through >= through && self.unsynced.is_empty() && !dir_dirty {
            return None;
        }

        let mut files = self.unsynced.clone();
        files.push(Arc::clone(active));
        Some(SyncTicket {
            files,
            dir: dir_dirty.then(|| self.dir.clone()),
            dir_generation: self.dir_generation,
            through,
        })
    }

    /// Records that `ticket` ran successfully, so [`Spool::read_batch`] may return the
    /// records it covered.
    pub fn finish_sync(&mut self, ticket: &SyncTicket) {
        self.synced_through = self.synced_through.max(ticket.through);
        self.unsynced
            .retain(|file| !ticket.files.iter().any(|synced| Arc::ptr_eq(synced, file)));
        if ticket.dir.is_some() {
            self.dir_synced_generation = self.dir_synced_generation.max(ticket.dir_generation);
        }
    }

    /// Fsyncs everything appended so far, holding `&mut self` throughout.
    pub fn sync(&mut self) -> Result<(), SpoolError> {
        let Some(ticket) = self.begin_sync() else {
            return Ok(());
        };
        ticket.run().map_err(|source| SpoolError::Sync {
            dir: self.dir.clone(),
            source,
        })?;
        self.finish_sync(&ticket);
        Ok(())
    }
}
