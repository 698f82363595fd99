//! Attack patterns searched for in decoded request paths, bodies and user agents.
//!
//! The categories and their info texts follow Maltrail's `SUSPICIOUS_HTTP_REQUEST_REGEXES`
//! (`core/settings.py`), and template injection is added. The expressions are written for
//! this sensor and kept narrow: a quote, a `select` or an `alert` on its own is not enough,
//! so that search queries and product names stay quiet. The `regex` crate matches in time
//! linear in the input, so no expression can backtrack without bound.

use regex::bytes::{RegexSet, RegexSetBuilder};

/// Info text of a scanner fingerprint in a request or User-Agent.
pub const WEB_SCAN: &str = "potential web scan (suspicious)";

/// Categories in the order they are tried: the first that matches names the finding.
const CATEGORIES: [(&str, &str); 10] = [
    (
        "potential sql injection (suspicious)",
        concat!(
            r"\bunion(\s|/\*.{0,40}?\*/)+(all(\s|/\*.{0,40}?\*/)+)?select\b",
            r"|\binformation_schema\b|\bsys(databases|objects|users)\b|@@version\b",
            r"|\b(pg_)?sleep\s*\(\s*\d|\bbenchmark\s*\(\s*\d|\bwaitfor\s+delay\b",
            r"|\b(updatexml|extractvalue|load_file)\s*\(|\binto\s+(out|dump)file\b",
            r"|\bfloor\s*\(\s*rand\s*\(|\bconcat(_ws)?\s*\(\s*0x",
            r"|\bchar\s*\(\s*\d+\s*(,\s*\d+\s*)+\)|;\s*(drop|truncate|alter)\s+table\b",
            r"|\border\s+by\s+\d+\s*(--|#)",
            r#"|['")]\s*(or|and)\s+['"(]?\w+['")]?\s*(=|<|>|\blike\b)\s*['"(]?\w"#,
            r"|\b(or|and)\s+(\d+)\s*=\s*\d+\b",
            r"|'\s*--(\s|$)",
            r"|\bselect\s+(\*|[\w.]+(\s*,\s*[\w.]+)*)\s+from\s+[\w.]+\s+where\s+[\w.]+\s*(=|<|>|like\b)",
        ),
    ),
    (
        "potential xxe injection (suspicious)",
        r"<!entity\b|<!doctype[^>]{0,200}\bsystem\s",
    ),
    (
        "potential php injection (suspicious)",
        concat!(
            r"<\?php|\bphp://(input|filter)|\$_(get|post|request|cookie|server)\[",
            r"|\bbase64_decode\s*\(|\ballow_url_include\b|\bauto_prepend_file\b",
        ),
    ),
    (
        "potential template injection (suspicious)",
        concat!(
            r"\{\{[^}]{0,80}(\d+\s*\*\s*\d+|__class__|\bconfig\.|\bself\.|\brequest\.)",
            r"|\$\{\s*\d+\s*\*\s*\d+\s*\}|#\{\s*\d+\s*\*\s*\d+\s*\}|<%=\s*\d+\s*\*\s*\d+",
            r"|__class__\.__(mro|bases)__",
        ),
    ),
    ("potential ldap injection (suspicious)", r"\(\|\(\w+=\*"),
    (
        "potential xss injection (suspicious)",
        concat!(
            r"<script[\s>/]|\bjavascript:|<iframe\b",
            r"|<(img|svg|body|input|details|video|audio|a)\b[^>]{0,200}\bon[a-z]{3,20}\s*=",
            r#"|\balert\s*\(|\b(confirm|prompt)\s*\(\s*(\d|document\b|['"])"#,
            r"|\bdocument\.(cookie|domain)\b",
        ),
    ),
    (
        "config file access (suspicious)",
        concat!(
            r"/\.env(\.\w+)?($|[/?#&])|/\.git/(config|head|index)\b|/\.svn/",
            r"|/\.ht(access|passwd)\b|\bwp-config\.php|/\.aws/credentials\b|/\.ssh/",
            r"|/\.docker/config\.json\b|/\.npmrc\b|/config\.php\.(bak|old|save)\b",
            r"|/\.ds_store\b",
        ),
    ),
    (
        "potential remote code execution (suspicious)",
        concat!(
            r"\$\{\s*jndi\s*:|\$\{\s*(lower|upper|env|sys)\s*:[^}]{0,40}\}|\$\{ifs\}",
            r"|\(\)\s*\{\s*:?\s*;\s*\}\s*;",
            r"|\b(wget|curl)\s+(-[-\w]+\s+)*(https?|ftp)://|\btftp\s+-[gr]\b",
            r"|[;|`]\s*(sh|bash|cat|ls|rm|chmod|cd)\s+[-/~]|[;|`]\s*(busybox|wget|curl|nc)\s+[-/\w]",
            r"|[;|`]\s*(uname|whoami|id)(\s+-\w+)?\s*($|[;|&`])",
            r"|\$\(\s*(sh|bash|cat|ls|id|uname|whoami|wget|curl|echo)\b",
            r"|/bin/(ba|da|z)?sh\b|\bcmd(\.exe)?\s*/c\b|\bcmd\.exe\b|\bpowershell(\.exe)?\s+-",
            r"|\bchmod\s+(\+x|[0-7]{3,4})\b|2>&1|>\s*/dev/null\b|\bnc\s+(-\w+\s+)+\d",
            r"|\b(shell_exec|passthru|proc_open|popen)\s*\(|\bsystem\s*\(\s*['$]",
            r"|\bxp_cmdshell\b|\bsh\s+/tmp/|\bping(\.exe)?\s+-[nc]\s+\d+",
        ),
    ),
    (
        "potential directory traversal (suspicious)",
        concat!(
            r"(\.{2,}[/\\]+){3,}|/etc/(passwd|shadow|group|issue|hostname)\b",
            r"|[/\\](boot|win|system)\.ini\b|[/\\]system32\b|%systemroot%|\bc:[/\\]windows\b",
        ),
    ),
    (
        WEB_SCAN,
        concat!(
            r"(acunetix|injected_by)_wvs_|\bacunetix-wvs|w00tw00t|muieblackcat",
            r"|/nmap(lower|upper)check|\bnikto\b|\bsqlmap\b|\bzgrab\b|\bmasscan\b",
            r"|/evox/about\b|thishouldnotexist|some_inexistent_file|\.bxss\.me\b",
            r"|\bowasp\s?zap\b|\bvega-inject\b|\bvega\.invalid\b",
        ),
    ),
];

/// Maximum compiled size of the pattern set, in bytes. A set over it fails to build, and then
/// every test that creates the heuristics fails.
const COMPILED_SIZE_LIMIT: usize = 8 << 20;

/// The compiled categories.
pub struct RequestPatterns {
    set: RegexSet,
}

impl RequestPatterns {
    pub fn new() -> RequestPatterns {
        let set = RegexSetBuilder::new(CATEGORIES.iter().map(|(_, pattern)| *pattern))
            .case_insensitive(true)
            .unicode(false)
            .dot_matches_new_line(true)
            .size_limit(COMPILED_SIZE_LIMIT)
            .build();
        // NOTE(expect): the patterns are constants, and every test builds them.
        RequestPatterns {
            set: set.expect("the HTTP attack patterns compile"),
        }
    }

    /// Returns the info text of the first category that matches `text`, if any.
    pub fn first_match(&self, text: &[u8]) -> Option<&'static str> {
        let matches = self.set.matches(text);
        let first = matches.iter().next()?;
        CATEGORIES.get(first).map(|(info, _)| *info)
    }
}

impl Default for RequestPatterns {
    fn default() -> Self {
        RequestPatterns::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_samples_classified() {
        let patterns = RequestPatterns::new();
        let cases: [(&[u8], &str); 24] = [
            (b"/item.php?id=1 UNION ALL SELECT null,version()--", "sql"),
            (b"/item.php?id=1/**/union/**/select/**/1,2", "sql"),
            (b"/login?user=admin' or '1'='1", "sql"),
            (b"/list?id=5 AND 1=1", "sql"),
            (b"/x?id=1;waitfor delay '0:0:5'", "sql"),
            (b"/x?id=(select sleep(5))", "sql"),
            (b"/x?q=select * from users where id=1", "sql"),
            (
                b"<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x SYSTEM \"file:///\">]>",
                "xxe",
            ),
            (b"/index.php?page=php://filter/resource=index", "php"),
            (b"/x?<?php system($_GET[c]); ?>", "php"),
            (b"/hello?name={{7*7}}", "template"),
            (b"/hello?name=${7*7}", "template"),
            (b"/search?q=<script>alert(1)</script>", "xss"),
            (b"/p?x=\"><img src=x onerror=confirm(1)>", "xss"),
            (b"/.env", "config"),
            (b"/.git/config", "config"),
            (b"/wp-config.php.bak", "config"),
            (b"/x?a=${jndi:ldap://127.0.0.1/a}", "remote code"),
            (
                b"/cgi-bin/x.cgi?c=;wget http://127.0.0.1/x.sh -O- | sh",
                "remote code",
            ),
            (b"/shell?cd /tmp; rm -rf x; busybox wget x", "remote code"),
            (b"/a/../../../../etc/shadow", "traversal"),
            (b"/download?file=/etc/passwd", "traversal"),
            (b"/nmaplowercheck1700000000", "web scan"),
            (b"/?w00tw00t.at.blackhats", "web scan"),
        ];
        for (text, expected) in cases {
            let info = patterns.first_match(text);
            assert!(
                info.is_some_and(|info| info.contains(expected)),
                "{:?} gave {info:?}, expected {expected}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn benign_requests_not_matched() {
        let patterns = RequestPatterns::new();
        let cases: [&[u8]; 15] = [
            b"/search?q=it's a select wine&sort=price",
            b"/products/select-comfort-mattress?color=grey",
            b"/books?author=O'Reilly and Sons&page=2",
            b"{\"query\":\"select\",\"name\":\"O'Reilly\",\"count\":1,\"tags\":[\"a\",\"b\"]}",
            b"/api/v1/orders?from=2024-01-01&to=2024-02-01&order=desc",
            b"/static/js/app.js?v=1.2.3",
            b"/env/settings",
            b"/.well-known/acme-challenge/abc",
            b"/wiki/Union_(set_theory)",
            b"/alerts/today?type=weather",
            b"/search?q=rock & roll; cat videos",
            b"/forum?topic=pipes | rm or keep; ls vs dir",
            b"/debian/pool/main/c/curl/curl_8.5.0-2_amd64.deb",
            b"/docs/../images/logo.png",
            b"/?q=a+b&id=1&cat=2",
        ];
        for text in cases {
            assert_eq!(
                patterns.first_match(text),
                None,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }
}
