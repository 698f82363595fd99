//! SIGINT and SIGTERM: stop reading, then flush summaries, statistics and the report.

use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};

static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

extern "C" fn request_stop(_signal: libc::c_int) {
    STOP_REQUESTED.store(true, Ordering::Relaxed);
}

/// Makes the first SIGINT or SIGTERM request a clean stop. A second one of the same kind ends
/// the process at once, because `SA_RESETHAND` restores the default action. The handlers are
/// installed without `SA_RESTART`, so a read blocked on a quiet pipe returns and the stop is
/// seen.
pub fn install() -> nix::Result<()> {
    let flags = SaFlags::SA_RESETHAND;
    let action = SigAction::new(SigHandler::Handler(request_stop), flags, SigSet::empty());
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe, and no
        // other code in this process installs a handler for these signals.
        unsafe { sigaction(signal, &action) }?;
    }
    Ok(())
}

/// Returns true once SIGINT or SIGTERM arrived.
pub fn stop_requested() -> bool {
    STOP_REQUESTED.load(Ordering::Relaxed)
}
