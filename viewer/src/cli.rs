//! Command-line arguments.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::net::{parse_listen_addr, IpNet};

/// Web viewer for trailwatch's daily event logs, with a Maltrail-compatible API.
#[derive(Debug, Parser)]
#[command(name = "trailwatch-viewer", version)]
pub struct Cli {
    /// Configuration file (TOML); flags replace its values.
    #[arg(short = 'c', long = "config", value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// Users file with argon2id password hashes [default: /data/viewer/users.toml].
    #[arg(long, value_name = "FILE", global = true)]
    pub users: Option<PathBuf>,

    /// Address and port to listen on; repeat for several [default: 0.0.0.0:8338].
    #[arg(long, value_name = "IP:PORT", value_parser = parse_listen_addr)]
    pub listen: Vec<SocketAddr>,

    /// Folder of the daily logs YYYY-MM-DD.log [default: /var/log/trailwatch].
    #[arg(long, value_name = "DIR")]
    pub log_dir: Option<PathBuf>,

    /// Validate the configuration and users file, then exit: 0 if valid, 1 if not.
    #[arg(long)]
    pub check: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage viewer accounts.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user or replace its password and settings. Reads the password from standard
    /// input when that is not a terminal, else prompts for it twice.
    Add(AddArgs),
    /// Remove a user.
    Remove {
        /// User name.
        name: String,
    },
    /// List users with their settings (never the hashes).
    List,
    /// Print the argon2id hash of a password, for `user add --hash` or a password hash file
    /// on another machine. Reads the password like `add`; the users file is not touched.
    Hash,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// User name: letters, digits, '.', '_' or '-'.
    pub name: String,

    /// Read an argon2id PHC hash (`$argon2id$v=19$...`) from standard input in place of a
    /// password, such as one printed by `user hash`.
    #[arg(long)]
    pub hash: bool,

    /// Deny the user any state-changing request other than logout.
    #[arg(long)]
    pub read_only: bool,

    /// Show the user only events with a source or destination in this network (CIDR); repeat
    /// for several.
    #[arg(long, value_name = "CIDR")]
    pub network: Vec<IpNet>,
}
