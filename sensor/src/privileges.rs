//! Dropping root once the capture handles are open: the open handles keep working, and a bug
//! in a packet parser then runs as an unprivileged user.

use std::path::Path;

use log::info;
use nix::sys::prctl;
use nix::unistd::{self, AccessFlags, Gid, Uid, User};

/// A privilege drop that failed; the sensor must not run on as root by accident.
#[derive(Debug, thiserror::Error)]
pub enum PrivilegeError {
    #[error("cannot look up user {user:?}: {source}")]
    Lookup { user: String, source: nix::Error },

    #[error("user {user:?} (sensor.user or --user) does not exist; create it or name another")]
    UnknownUser { user: String },

    #[error("cannot switch to user {user:?}: {step} failed: {source}; start the sensor as root")]
    Switch {
        user: String,
        step: &'static str,
        source: nix::Error,
    },

    #[error(
        "switched to user {user:?} but setuid(0) still succeeds, so the sensor stops; check for a \
         kernel or security module that restores root"
    )]
    RootRegained { user: String },
}

/// Looks `name` up in the user database.
pub fn lookup(name: &str) -> Result<User, PrivilegeError> {
    match User::from_name(name) {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(PrivilegeError::UnknownUser {
            user: name.to_string(),
        }),
        Err(source) => Err(PrivilegeError::Lookup {
            user: name.to_string(),
            source,
        }),
    }
}

/// Switches the process to user `name` for good. It clears the supplementary groups, sets the
/// real, effective and saved group and user ids to the user's, and sets `no_new_privs` so no
/// set-uid program can raise them again. Then it checks that `setuid(0)` fails.
///
/// glibc applies each id change to every thread of the process, but the sensor calls this
/// before it starts any thread.
pub fn drop_to(name: &str) -> Result<(), PrivilegeError> {
    let user = lookup(name)?;
    let switch_error = |step, source| PrivilegeError::Switch {
        user: name.to_string(),
        step,
        source,
    };

    unistd::setgroups(&[]).map_err(|source| switch_error("setgroups", source))?;
    unistd::setresgid(user.gid, user.gid, user.gid)
        .map_err(|source| switch_error("setresgid", source))?;
    unistd::setresuid(user.uid, user.uid, user.uid)
        .map_err(|source| switch_error("setresuid", source))?;
    prctl::set_no_new_privs()
        .map_err(|source| switch_error("prctl(PR_SET_NO_NEW_PRIVS)", source))?;

    if !user.uid.is_root() && unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err(PrivilegeError::RootRegained {
            user: name.to_string(),
        });
    }
    info!(
        "switched to user {name} (uid {}, gid {}), supplementary groups cleared, \
         no_new_privs set",
        user.uid, user.gid
    );
    Ok(())
}

/// Returns true when the current process may create files in `dir` (`access(2)` with the
/// real user id, which after [`drop_to`] is the sensor's user).
pub fn can_write(dir: &Path) -> bool {
    unistd::access(dir, AccessFlags::W_OK | AccessFlags::X_OK).is_ok()
}

/// Returns true when `user` may create files in `dir`, judged from the folder's owner, group
/// and mode bits, for checks made before the switch.
///
/// Supplementary groups do not count because [`drop_to`] clears them.
///
/// NOTE: POSIX ACLs are not considered, so this can report a folder unwritable that an ACL
/// opens to the user.
pub fn user_can_write(user: &User, dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;

    if user.uid.is_root() {
        return true;
    }
    let Ok(metadata) = std::fs::metadata(dir) else {
        return false;
    };
    let mode = metadata.mode();
    if Uid::from_raw(metadata.uid()) == user.uid {
        mode & 0o300 == 0o300
    } else if Gid::from_raw(metadata.gid()) == user.gid {
        mode & 0o030 == 0o030
    } else {
        mode & 0o003 == 0o003
    }
}

/// Returns true when `user` may read the file `path`, judged from the owner, group and mode
/// bits of the file and of every folder above it (which need the search bit), for checks made
/// before the switch. The same limits as for [`user_can_write`] apply.
pub fn user_can_read(user: &User, path: &Path) -> bool {
    if user.uid.is_root() {
        return true;
    }
    let Ok(path) = std::fs::canonicalize(path) else {
        return false;
    };
    let folders_searchable = path
        .ancestors()
        .skip(1)
        .all(|folder| user_has_mode_bits(user, folder, 0o1));
    folders_searchable && user_has_mode_bits(user, &path, 0o4)
}

/// Tests the owner, group or other bits of `path` that apply to `user` against `bits`, given
/// as one octal digit (4 read, 2 write, 1 search or execute).
fn user_has_mode_bits(user: &User, path: &Path, bits: u32) -> bool {
    use std::os::unix::fs::MetadataExt;

    let Ok(metadata) = std::fs::metadata(path) else {
        return false;
    };
    let mode = metadata.mode();
    let shift = if Uid::from_raw(metadata.uid()) == user.uid {
        6
    } else if Gid::from_raw(metadata.gid()) == user.gid {
        3
    } else {
        0
    };
    (mode >> shift) & bits == bits
}
