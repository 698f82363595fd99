//! Command-line arguments of `trailwatch-trails`.

use std::path::PathBuf;

use clap::{ArgAction, Parser, Subcommand};

use crate::config::DEFAULT_STORE;

/// Builds, updates, signs and inspects trailwatch trail stores.
///
/// Exit status: 0 on success, 1 when `lookup` finds nothing or `verify` finds a signature
/// that does not match, and 2 on an error. `update` exits with 3 when every enabled feed
/// failed and none had cached entries, so the store it wrote has no feed data.
#[derive(Debug, Parser)]
#[command(name = "trailwatch-trails", version)]
pub struct Cli {
    /// Log more: -v for debug, -vv for trace. RUST_LOG overrides it.
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Log only warnings and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile text trail trees into a store file.
    Compile {
        /// A trail tree (`<category>/<name>.txt` files); repeat for more. A tree named
        /// `custom` takes precedence.
        #[arg(long = "trails", value_name = "DIR", required = true)]
        trails: Vec<PathBuf>,

        /// Whitelist file; whitelisted indicators are left out of the store.
        #[arg(long, value_name = "FILE")]
        whitelist: Option<PathBuf>,

        /// The store file to write.
        #[arg(short, long, value_name = "STORE")]
        output: PathBuf,
    },

    /// Download the enabled feeds and rebuild the store with the trail trees.
    Update {
        /// Configuration file; without it every default applies.
        #[arg(short, long, value_name = "FILE")]
        config: Option<PathBuf>,
    },

    /// Tell whether an IP, address:port, domain or host/path URL is listed, and by which sources.
    Lookup {
        /// The store file.
        #[arg(long, value_name = "STORE", default_value = DEFAULT_STORE)]
        store: PathBuf,

        /// The indicator to look up.
        indicator: String,
    },

    /// Print indicator counts per kind and per source.
    Stats {
        /// The store file.
        #[arg(long, value_name = "STORE", default_value = DEFAULT_STORE)]
        store: PathBuf,
    },

    /// Generate a signing key pair: KEYFILE (secret, mode 0600) and KEYFILE.pub.
    Keygen {
        /// The secret key file to create; it must not exist.
        #[arg(short, long, value_name = "KEYFILE")]
        output: PathBuf,
    },

    /// Write STORE.sig, a detached ed25519 signature over the store file.
    Sign {
        /// The secret key file.
        #[arg(long, value_name = "KEYFILE")]
        key: PathBuf,

        /// The store file to sign.
        store: PathBuf,
    },

    /// Check STORE.sig against the store file and a public key.
    Verify {
        /// The public key file.
        #[arg(long, value_name = "PUB")]
        public_key: PathBuf,

        /// The store file; its signature is read from STORE.sig.
        store: PathBuf,
    },

    /// Download a signed store, verify it and install it atomically.
    Pull {
        /// Configuration file with an [ota] table.
        #[arg(short, long, value_name = "FILE", conflicts_with_all = ["url", "public_key", "output"])]
        config: Option<PathBuf>,

        /// URL of the published store; its signature is read from URL.sig.
        #[arg(long, requires_all = ["public_key", "output"], required_unless_present = "config")]
        url: Option<String>,

        /// The publisher's public key file.
        #[arg(long, value_name = "PUB")]
        public_key: Option<PathBuf>,

        /// The store file to install.
        #[arg(short, long, value_name = "STORE")]
        output: Option<PathBuf>,
    },

    /// Run `update`, or `pull` when the configuration has an [ota] table, at start and then
    /// every [schedule] period plus jitter, until SIGTERM or SIGINT.
    Daemon {
        /// Configuration file.
        #[arg(short, long, value_name = "FILE")]
        config: PathBuf,
    },
}
