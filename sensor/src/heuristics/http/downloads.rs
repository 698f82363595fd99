//! Downloads by URL: executables fetched directly from a public server, and IoT-bot payloads
//! fetched from a bare IP address.

use std::net::IpAddr;

/// Default extensions of direct downloads, with the leading dot: Windows executables and
/// scripts, installers, Java and Android packages, and the others Maltrail reports.
pub const DEFAULT_EXTENSIONS: [&str; 22] = [
    ".apk", ".bat", ".bin", ".chm", ".class", ".cmd", ".dll", ".egg", ".exe", ".hta", ".hwp",
    ".jar", ".jse", ".lnk", ".msi", ".ps1", ".scr", ".sct", ".vbe", ".vbs", ".wsf", ".xpi",
];

/// Default host suffixes whose executables are expected: Windows Update and Microsoft's
/// download servers.
pub const DEFAULT_ALLOWED_HOSTS: [&str; 5] = [
    "windowsupdate.com",
    "update.microsoft.com",
    "delivery.mp.microsoft.com",
    "download.microsoft.com",
    "officecdn.microsoft.com",
];

/// Path parts that IoT bots use for their payloads: a `bins` folder, Mozi's file names, and
/// file names or extensions that name a CPU architecture (`x.arm7`, `/mips`).
const IOT_ARCHITECTURES: [&str; 20] = [
    "arm", "arm4", "arm5", "arm6", "arm7", "armv4l", "armv5l", "armv6l", "armv7l", "aarch64",
    "mips", "mipsel", "mpsl", "m68k", "ppc", "powerpc", "sh4", "spc", "sparc", "x86",
];

/// A request path split for the download checks, lower case.
pub struct PathParts<'a> {
    /// The path without the query.
    pub path: &'a str,
    /// The query after `?`, empty if there is none.
    pub query: &'a str,
    /// The last path segment.
    pub file_name: &'a str,
}

impl<'a> PathParts<'a> {
    /// Splits `path`, which must already be lower case.
    pub fn new(path: &'a str) -> PathParts<'a> {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let file_name = path.rsplit('/').next().unwrap_or_default();
        PathParts {
            path,
            query,
            file_name,
        }
    }

    /// Returns the extension of the file name with its dot, such as `.exe`.
    pub fn extension(&self) -> Option<&'a str> {
        let dot = self.file_name.rfind('.')?;
        (dot > 0).then(|| &self.file_name[dot..])
    }

    /// Returns the file name without its extension.
    pub fn stem(&self) -> &'a str {
        match self.extension() {
            Some(extension) => &self.file_name[..self.file_name.len() - extension.len()],
            None => self.file_name,
        }
    }
}

/// Tests whether `host` is `suffix` or a subdomain of it.
pub fn host_in(host: &str, suffix: &str) -> bool {
    host.strip_suffix(suffix)
        .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
}

/// Tests whether `parts` looks like an IoT-bot payload.
pub fn is_iot_payload(parts: &PathParts<'_>) -> bool {
    if parts.path.contains("/bins/") || parts.path.starts_with("/bins.") {
        return true;
    }
    if parts.file_name.starts_with("mozi.") {
        return true;
    }
    let architecture = match parts.extension() {
        Some(".sh") => return true,
        Some(extension) => &extension[1..],
        None => parts.file_name,
    };
    IOT_ARCHITECTURES.contains(&architecture)
}

/// Tests whether `ip` is a public unicast address: not private, loopback, link-local,
/// shared (RFC 6598), documentation, multicast, broadcast or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => {
            let [first, second, ..] = ip.octets();
            let shared = first == 100 && (64..128).contains(&second);
            let documentation = matches!(ip.octets(), [192, 0, 2, _] | [198, 51, 100, _])
                || matches!(ip.octets(), [203, 0, 113, _]);
            !(ip.is_private()
                || ip.is_loopback()
                || ip.is_link_local()
                || ip.is_multicast()
                || ip.is_broadcast()
                || ip.is_unspecified()
                || shared
                || documentation
                || first == 0
                || first >= 240)
        }
        IpAddr::V6(ip) => {
            if let Some(mapped) = ip.to_ipv4_mapped() {
                return is_public(IpAddr::V4(mapped));
            }
            let first = ip.segments()[0];
            let unique_local = first & 0xfe00 == 0xfc00;
            let link_local = first & 0xffc0 == 0xfe80;
            let documentation = first == 0x2001 && ip.segments()[1] == 0x0db8;
            !(ip.is_loopback()
                || ip.is_unspecified()
                || ip.is_multicast()
                || unique_local
                || link_local
                || documentation)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_parts_split() {
        let parts = PathParts::new("/dl/setup.exe?x=1");
        assert_eq!(parts.path, "/dl/setup.exe");
        assert_eq!(parts.query, "x=1");
        assert_eq!(parts.file_name, "setup.exe");
        assert_eq!(parts.extension(), Some(".exe"));
        assert_eq!(parts.stem(), "setup");
        assert_eq!(PathParts::new("/.hidden").extension(), None);
        assert_eq!(PathParts::new("/dir/").file_name, "");
    }

    #[test]
    fn iot_payload_paths() {
        for path in [
            "/bins/sora.arm7",
            "/mozi.m",
            "/x.sh",
            "/mips",
            "/a/b.mpsl",
            "/bins.sh",
        ] {
            assert!(is_iot_payload(&PathParts::new(path)), "{path}");
        }
        for path in [
            "/",
            "/index.html",
            "/arm/",
            "/armchair.jpg",
            "/firmware.bin",
        ] {
            assert!(!is_iot_payload(&PathParts::new(path)), "{path}");
        }
    }

    #[test]
    fn host_suffix_needs_label_boundary() {
        assert!(host_in("download.windowsupdate.com", "windowsupdate.com"));
        assert!(host_in("windowsupdate.com", "windowsupdate.com"));
        assert!(!host_in("evilwindowsupdate.com", "windowsupdate.com"));
    }

    #[test]
    fn public_address_ranges() {
        for ip in ["8.8.8.8", "1.2.3.4", "2606:4700::1111", "::ffff:9.9.9.9"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.1",
            "127.0.0.1",
            "100.64.0.1",
            "169.254.1.1",
            "192.0.2.7",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "fd00::1",
            "fe80::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
    }
}
