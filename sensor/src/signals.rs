//! Signals: SIGINT and SIGTERM request a clean stop, SIGHUP requests a reload of the
//! configuration file and the trails.

use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);
static RELOAD_REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn request_stop(_signal: libc::c_int) {
    STOP_REQUESTED.store(true, Ordering::Relaxed);
}

extern "C" fn request_reload(_signal: libc::c_int) {
    RELOAD_REQUESTED.store(true, Ordering::Relaxed);
}

/// Makes the first SIGINT or SIGTERM request a clean stop. A second one of the same kind ends
/// the process at once, because `SA_RESETHAND` restores the default action. SIGHUP requests a
/// reload each time it arrives. The handlers are installed without `SA_RESTART`, so a read
/// blocked on a quiet pipe or a `poll` returns and the request is seen.
pub fn install() -> nix::Result<()> {
    let stop = SigAction::new(
        SigHandler::Handler(request_stop),
        SaFlags::SA_RESETHAND,
        SigSet::empty(),
    );
    let reload = SigAction::new(
        SigHandler::Handler(request_reload),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for (signal, action) in [
        (Signal::SIGINT, &stop),
        (Signal::SIGTERM, &stop),
        (Signal::SIGHUP, &reload),
    ] {
        // SAFETY: the handlers only store to atomics, which is async-signal-safe, and no
        // other code in this process installs a handler for these signals.
        unsafe { sigaction(signal, action) }?;
    }
    Ok(())
}

/// Returns true once SIGINT or SIGTERM arrived.
pub fn stop_requested() -> bool {
    STOP_REQUESTED.load(Ordering::Relaxed)
}

/// Returns true when SIGHUP arrived since the last call, and clears the request.
pub fn take_reload_request() -> bool {
    RELOAD_REQUESTED.swap(false, Ordering::Relaxed)
}
