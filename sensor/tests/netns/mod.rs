//! Network namespaces for live-capture tests: a "client" and a "server" namespace joined by veth
//! pairs, code run inside either of them, and the sensor started on the server side.
//!
//! Every name this module creates starts with [`PREFIX`] followed by the test process id, so a
//! run only ever removes its own namespaces, and the leftovers of an earlier run whose process
//! is gone. No traffic leaves the two namespaces: they have no route to the host or anywhere
//! else.

#![allow(dead_code)]

pub mod peers;
pub mod sensor;

use std::fs::File;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::thread::JoinHandle;

use nix::sched::CloneFlags;

/// First part of every namespace name this harness creates.
pub const PREFIX: &str = "twlive-";

/// Folder where `ip netns add` mounts named namespaces.
const NETNS_DIR: &str = "/run/netns";

static NEXT_ID: AtomicU32 = AtomicU32::new(0);
static SWEPT: OnceLock<()> = OnceLock::new();

/// Returns true when the test runs as root and not under user-mode QEMU. Otherwise it prints
/// why `test` is skipped.
pub fn require_root(test: &str) -> bool {
    if crate::common::under_qemu_user() {
        eprintln!("skipped {test}: {}", crate::common::QEMU_USER_SKIP);
        return false;
    }
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    eprintln!("skipped {test}: creating network namespaces needs root");
    false
}

/// Runs `ip` with `args` and panics with its output when it fails.
pub fn ip(args: &[&str]) {
    let output = Command::new("ip")
        .args(args)
        .output()
        .expect("the ip command (iproute2) runs");
    assert!(
        output.status.success(),
        "ip {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr).trim()
    );
}

/// One named network namespace, deleted on drop.
pub struct Namespace {
    name: String,
}

impl Namespace {
    /// Creates the namespace `name` with its loopback interface up.
    fn create(name: String) -> Namespace {
        ip(&["netns", "add", &name]);
        let namespace = Namespace { name };
        ip(&["-n", &namespace.name, "link", "set", "lo", "up"]);
        namespace
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `work` on a new thread that has entered this namespace, and returns its result.
    /// Sockets that `work` creates belong to the namespace. A panic in `work` is raised here.
    pub fn run<T, F>(&self, work: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match self.spawn(work).join() {
            Ok(value) => value,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Starts `work` on a new thread that has entered this namespace.
    pub fn spawn<T, F>(&self, work: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let path = namespace_path(&self.name);
        std::thread::spawn(move || {
            enter(&path);
            work()
        })
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // Deleting the name destroys the namespace and its veth ends once no process or socket
        // still uses it. A failure is printed, not raised, because drop may run in a panic.
        let output = Command::new("ip")
            .args(["netns", "delete", &self.name])
            .output();
        match output {
            Ok(output) if output.status.success() => {}
            Ok(output) => eprintln!(
                "cannot delete network namespace {}: {}",
                self.name,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            Err(error) => eprintln!("cannot run ip netns delete {}: {error}", self.name),
        }
    }
}

fn namespace_path(name: &str) -> PathBuf {
    PathBuf::from(NETNS_DIR).join(name)
}

/// Moves the calling thread into the namespace mounted at `path`.
fn enter(path: &PathBuf) {
    let file = File::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
    nix::sched::setns(&file, CloneFlags::CLONE_NEWNET)
        .unwrap_or_else(|e| panic!("setns into {} failed: {e}", path.display()));
}

/// The addresses of one veth pair. The server end also has a second IPv6 address for trail
/// tests, so that a listed address is not hit by the probe traffic to the server's address.
#[derive(Debug, Clone)]
pub struct Link {
    pub client_interface: String,
    pub server_interface: String,
    pub client_v4: Ipv4Addr,
    pub server_v4: Ipv4Addr,
    pub client_v6: Ipv6Addr,
    pub server_v6: Ipv6Addr,
    pub trail_v6: Ipv6Addr,
}

impl Link {
    fn numbered(index: u8) -> Link {
        let v6 = |host: u16| Ipv6Addr::new(0xfd00, 0, 0, u16::from(index), 0, 0, 0, host);
        Link {
            client_interface: format!("twc{index}"),
            server_interface: format!("tws{index}"),
            client_v4: Ipv4Addr::new(10, 200, index, 1),
            server_v4: Ipv4Addr::new(10, 200, index, 2),
            client_v6: v6(1),
            server_v6: v6(2),
            trail_v6: v6(0x66),
        }
    }

    pub fn server(&self, port: u16) -> SocketAddr {
        SocketAddr::new(self.server_v4.into(), port)
    }

    fn client_mac(&self, index: u8) -> String {
        format!("02:00:00:00:{index:02x}:01")
    }

    fn server_mac(&self, index: u8) -> String {
        format!("02:00:00:00:{index:02x}:02")
    }
}

/// A client and a server namespace joined by one or more veth pairs (`twcN` in the client,
/// `twsN` in the server, subnet 10.200.N.0/24 and fd00:0:0:N::/64).
///
/// IPv6 addresses skip duplicate address detection and both ends have permanent neighbor
/// entries, so the only IPv6 packets that carry the global addresses are the tests' own.
pub struct Lab {
    pub links: Vec<Link>,
    // Deleting the namespaces also removes the veth pairs between them.
    pub client: Namespace,
    pub server: Namespace,
}

impl Lab {
    /// Creates a lab with `link_count` veth pairs (at most 250).
    pub fn new(link_count: u8) -> Lab {
        assert!(
            link_count <= 250,
            "at most 250 links fit the 10.200.N.0/24 plan"
        );
        sweep_leftovers();

        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let client = Namespace::create(format!("{PREFIX}{pid}-{id}-client"));
        let server = Namespace::create(format!("{PREFIX}{pid}-{id}-server"));
        let mut lab = Lab {
            links: Vec::new(),
            client,
            server,
        };
        for index in 0..link_count {
            lab.add_link(index);
        }
        lab
    }

    /// Returns the first link, which every lab has.
    pub fn link(&self) -> &Link {
        &self.links[0]
    }

    fn add_link(&mut self, index: u8) {
        let link = Link::numbered(index);
        let client = self.client.name();
        let server = self.server.name();
        let (client_if, server_if) = (&link.client_interface, &link.server_interface);
        let (client_mac, server_mac) = (link.client_mac(index), link.server_mac(index));

        // Created inside the client namespace, so no interface ever appears on the host.
        ip_in(
            client,
            &format!("link add {client_if} type veth peer name {server_if} netns {server}"),
        );
        ip_in(
            client,
            &format!("link set {client_if} address {client_mac}"),
        );
        ip_in(
            server,
            &format!("link set {server_if} address {server_mac}"),
        );

        ip_in(
            client,
            &format!("addr add {}/24 dev {client_if}", link.client_v4),
        );
        ip_in(
            server,
            &format!("addr add {}/24 dev {server_if}", link.server_v4),
        );
        ip_in(
            client,
            &format!("addr add {}/64 dev {client_if} nodad", link.client_v6),
        );
        ip_in(
            server,
            &format!("addr add {}/64 dev {server_if} nodad", link.server_v6),
        );
        ip_in(
            server,
            &format!("addr add {}/64 dev {server_if} nodad", link.trail_v6),
        );

        for (namespace, interface, addr, mac) in [
            (client, client_if, link.server_v6, &server_mac),
            (client, client_if, link.trail_v6, &server_mac),
            (server, server_if, link.client_v6, &client_mac),
        ] {
            let neighbor = format!("neigh replace {addr} lladdr {mac} dev {interface}");
            ip_in(namespace, &format!("{neighbor} nud permanent"));
        }

        ip_in(client, &format!("link set {client_if} up"));
        ip_in(server, &format!("link set {server_if} up"));
        self.links.push(link);
    }
}

/// Runs `ip -n NAMESPACE` with the space-separated `args`, which must not contain spaces
/// themselves, and panics when it fails.
fn ip_in(namespace: &str, args: &str) {
    let mut all = vec!["-n", namespace];
    all.extend(args.split(' '));
    ip(&all);
}

/// Removes namespaces named by this harness whose creating process no longer runs, once per
/// test process and before it creates its own. A namespace that carries this process's own id
/// was left by an earlier process that had the same id, because none exists yet.
fn sweep_leftovers() {
    SWEPT.get_or_init(|| {
        let Ok(entries) = std::fs::read_dir(NETNS_DIR) else {
            return;
        };
        let own = std::process::id();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(pid) = owner_pid(&name) else {
                continue;
            };
            if pid == own || !process_exists(pid) {
                eprintln!("removing network namespace {name} left by process {pid}");
                let _ = Command::new("ip").args(["netns", "delete", &name]).status();
            }
        }
    });
}

/// Returns the process id in a name of the form `twlive-PID-ID-client` or `-server`, or `None`
/// for any other name.
fn owner_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?;
    let mut parts = rest.split('-');
    let pid = parts.next()?.parse().ok()?;
    let _id: u32 = parts.next()?.parse().ok()?;
    let role = parts.next()?;
    let matches = (role == "client" || role == "server") && parts.next().is_none();
    matches.then_some(pid)
}

fn process_exists(pid: u32) -> bool {
    PathBuf::from(format!("/proc/{pid}")).exists()
}

#[test]
fn owner_pid_reads_only_own_names() {
    assert_eq!(owner_pid("twlive-123-4-client"), Some(123));
    assert_eq!(owner_pid("twlive-123-4-server"), Some(123));
    assert_eq!(owner_pid("twlive-123-4-router"), None);
    assert_eq!(owner_pid("twlive-123-client"), None);
    assert_eq!(owner_pid("twlive-123-4-client-x"), None);
    assert_eq!(owner_pid("other-123-4-client"), None);
}
