//! User-Agent checks: scanners that name themselves, command-line tools and script libraries,
//! and empty or malformed headers.

use regex::bytes::{Regex, RegexBuilder};

/// Info text of an agent that names a scanner or attack tool.
pub const SCANNER_AGENT: &str = "potential web scan (suspicious)";
/// Info text of a tool agent, Maltrail's text for its suspicious agents.
pub const TOOL_AGENT: &str = "user agent (suspicious)";
pub const EMPTY_AGENT: &str = "empty user agent (suspicious)";
pub const MALFORMED_AGENT: &str = "malformed user agent (suspicious)";

/// Maximum length of a plausible User-Agent, in bytes. Browser agents are about 100 to 200
/// bytes (an estimate from current Firefox and Chrome agents). Longer ones are mostly payloads, so the header is reported as malformed.
pub const MAX_AGENT_LEN: usize = 1024;

/// Names that scanners and attack tools put in their default User-Agent, matched as words
/// without regard to case.
const SCANNER_NAMES: &str = concat!(
    r"\b(sqlmap|nikto|nmap|masscan|zgrab|nuclei|gobuster|dirbuster|feroxbuster|wpscan",
    r"|wfuzz|acunetix|netsparker|nessus|openvas|w3af|arachni|havij|hydra|zmeu",
    r"|morfeus|jaeles|whatweb|fuzz faster u fool|commix|skipfish|xsstrike)\b",
);

/// Default prefixes of tool agents: command-line clients and the default agents of script
/// libraries, which browsers and installed applications do not send.
pub const DEFAULT_TOOL_AGENTS: [&str; 10] = [
    "curl/",
    "wget/",
    "python-requests/",
    "python-urllib/",
    "python-httpx/",
    "go-http-client/",
    "libwww-perl/",
    "lwp-request/",
    "windowspowershell/",
    "aiohttp/",
];

/// The compiled scanner names.
pub struct ScannerAgents {
    regex: Regex,
}

impl ScannerAgents {
    pub fn new() -> ScannerAgents {
        let regex = RegexBuilder::new(SCANNER_NAMES)
            .case_insensitive(true)
            .unicode(false)
            .build();
        // NOTE(expect): the pattern is a constant, and every test builds it.
        ScannerAgents {
            regex: regex.expect("the scanner agent pattern compiles"),
        }
    }

    /// Tests whether `agent` names a scanner or attack tool.
    pub fn is_scanner(&self, agent: &str) -> bool {
        self.regex.is_match(agent.as_bytes())
    }
}

impl Default for ScannerAgents {
    fn default() -> Self {
        ScannerAgents::new()
    }
}

/// Tests whether `agent` starts with one of `prefixes`, which are lower case.
pub fn is_tool(agent: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|prefix| {
        agent
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    })
}

/// Tests whether `agent` is malformed: longer than [`MAX_AGENT_LEN`], or containing a control
/// character other than tab. The parser has already cut the field before any CR or byte that
/// is not UTF-8.
pub fn is_malformed(agent: &str) -> bool {
    agent.len() > MAX_AGENT_LEN || agent.chars().any(|c| c.is_control() && c != '\t')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scanner_agents_recognised() {
        let scanners = ScannerAgents::new();
        for agent in [
            "sqlmap/1.7.2#stable (https://sqlmap.org)",
            "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:Port Check)",
            "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
            "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
            "Mozilla/5.0 zgrab/0.x",
            "Fuzz Faster U Fool v2.1.0",
        ] {
            assert!(scanners.is_scanner(agent), "{agent}");
        }
    }

    #[test]
    fn browser_agents_not_scanners() {
        let scanners = ScannerAgents::new();
        for agent in [
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
             Chrome/126.0.0.0 Safari/537.36",
            "Microsoft-Delivery-Optimization/10.0",
            "Debian APT-HTTP/1.3 (2.6.1)",
            "Hydrangea-Garden-App/2.0",
        ] {
            assert!(!scanners.is_scanner(agent), "{agent}");
        }
    }

    #[test]
    fn tool_prefix_ignores_case() {
        let prefixes: Vec<String> = DEFAULT_TOOL_AGENTS.iter().map(|p| p.to_string()).collect();
        assert!(is_tool("curl/8.5.0", &prefixes));
        assert!(is_tool("Wget/1.21.4", &prefixes));
        assert!(is_tool("Go-http-client/1.1", &prefixes));
        assert!(!is_tool("Mozilla/5.0 curl/8", &prefixes));
        assert!(!is_tool("cur", &prefixes));
    }

    #[test]
    fn malformed_agents_detected() {
        assert!(is_malformed("Mozilla\u{0}/5.0"));
        assert!(is_malformed(&"A".repeat(MAX_AGENT_LEN + 1)));
        assert!(!is_malformed("Mozilla/5.0\t(tabbed)"));
        assert!(!is_malformed(&"A".repeat(MAX_AGENT_LEN)));
    }
}
