//! Response checks: content types of executables and scripts, sinkhole servers and the
//! takedown pages of seized domains.
//!
//! The markers follow those Maltrail matches (`GENERIC_SINKHOLE_REGEX` and the seized-domain
//! title check in `core/settings.py` and `sensor.py`), written for this sensor.

use regex::bytes::{Regex, RegexBuilder};
use trailwatch_wire::http::Response;

pub const SINKHOLE: &str = "sinkhole response (malware)";
pub const SEIZED: &str = "seized domain (suspicious)";
pub const CONTENT_TYPE: &str = "content type (suspicious)";

/// Default media types reported in a response from a public server: Windows executables and
/// installers, HTML applications and help files, shell scripts and Java and Android packages.
/// Types are compared without parameters and without regard to case.
pub const DEFAULT_CONTENT_TYPES: [&str; 17] = [
    "application/x-msdownload",
    "application/x-msdos-program",
    "application/x-dosexec",
    "application/x-executable",
    "application/vnd.microsoft.portable-executable",
    "application/x-ms-installer",
    "application/hta",
    "application/x-chm",
    "application/vnd.ms-htmlhelp",
    "application/x-bsh",
    "application/x-sh",
    "application/x-shellscript",
    "text/x-sh",
    "text/x-shellscript",
    "text/x-scriptlet",
    "application/java-archive",
    "application/vnd.android.package-archive",
];

/// Number of body bytes searched for sinkhole markers and the page title, about as many as
/// Maltrail searches (the first 2000 bytes of the segment).
pub const BODY_PREFIX: usize = 2048;

/// Header names that only sinkholes send.
const SINKHOLE_HEADERS: [&[u8]; 4] = [
    b"x-sinkhole",
    b"x-sinkholed",
    b"x-sinkholed-domain",
    b"x-zinkhole",
];

const SINKHOLE_BODY: &str = concat!(
    r"\bsinkholed? by\s|\ba malware sinkhole\b|\bthis is a sinkhole\b",
    r"|\bsinkhole( project)?</title>|computers connecting to this sinkhole",
);

const SEIZED_TITLE: &str =
    r"domain name has been seized|\bdomain seized\b|\bdomain seizure\b|this domain has been seized";

/// The compiled body and title markers.
pub struct ResponseMarkers {
    sinkhole_body: Regex,
    seized_title: Regex,
}

impl ResponseMarkers {
    pub fn new() -> ResponseMarkers {
        let build = |pattern: &str| {
            // NOTE(expect): the patterns are constants, and every test builds them.
            RegexBuilder::new(pattern)
                .case_insensitive(true)
                .unicode(false)
                .build()
                .expect("the response marker patterns compile")
        };
        ResponseMarkers {
            sinkhole_body: build(SINKHOLE_BODY),
            seized_title: build(SEIZED_TITLE),
        }
    }

    /// Returns the sinkhole marker in the headers of `response` or the start of `body`: the
    /// header line as `Name: value`, or the marker text of the body.
    pub fn sinkhole_marker(&self, response: &Response<'_>, body: &[u8]) -> Option<String> {
        for (name, value) in response.headers() {
            let lower_value = value.to_ascii_lowercase();
            let marked = SINKHOLE_HEADERS
                .iter()
                .any(|known| name.eq_ignore_ascii_case(known))
                || (name.eq_ignore_ascii_case(b"server")
                    && (lower_value.starts_with(b"sinkhole")
                        || lower_value.starts_with(b"malware-sinkhole")
                        || lower_value.starts_with(b"malware sinkhole")))
                || (name.eq_ignore_ascii_case(b"set-cookie") && lower_value.starts_with(b"snkz="));
            if marked {
                return Some(format!(
                    "{}: {}",
                    String::from_utf8_lossy(name),
                    String::from_utf8_lossy(value)
                ));
            }
        }
        let body = body.get(..BODY_PREFIX).unwrap_or(body);
        let found = self.sinkhole_body.find(body)?;
        Some(String::from_utf8_lossy(found.as_bytes()).trim().to_string())
    }

    /// Returns the page title at the start of `body` if it announces a domain seizure.
    pub fn seized_title(&self, body: &[u8]) -> Option<String> {
        let body = body.get(..BODY_PREFIX).unwrap_or(body);
        let start = find_ignore_case(body, b"<title>")? + b"<title>".len();
        let rest = &body[start..];
        let end = find_ignore_case(rest, b"</title>").unwrap_or(rest.len());
        let title = &rest[..end];
        self.seized_title
            .is_match(title)
            .then(|| String::from_utf8_lossy(title).trim().to_string())
    }
}

impl Default for ResponseMarkers {
    fn default() -> Self {
        ResponseMarkers::new()
    }
}

/// Returns the media type of a Content-Type value: lower case, without parameters.
pub fn media_type(content_type: &str) -> String {
    let essence = content_type.split(';').next().unwrap_or_default();
    essence.trim().to_ascii_lowercase()
}

fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailwatch_wire::http::{parse_response, ResponseParse};

    fn head(buf: &[u8]) -> Response<'_> {
        match parse_response(buf) {
            ResponseParse::Complete(response) => response,
            other => panic!("expected a complete response, got {other:?}"),
        }
    }

    #[test]
    fn sinkhole_header_found() {
        let markers = ResponseMarkers::new();
        let response = head(b"HTTP/1.1 200 OK\r\nX-Sinkhole: Malware sinkhole\r\n\r\n");
        assert_eq!(
            markers.sinkhole_marker(&response, b""),
            Some("X-Sinkhole: Malware sinkhole".to_string())
        );
    }

    #[test]
    fn sinkhole_server_and_body_found() {
        let markers = ResponseMarkers::new();
        let response = head(b"HTTP/1.1 200 OK\r\nServer: sinkhole\r\n\r\n");
        assert_eq!(
            markers.sinkhole_marker(&response, b""),
            Some("Server: sinkhole".to_string())
        );
        let plain = head(b"HTTP/1.1 200 OK\r\nServer: nginx\r\n\r\n");
        let body = b"<html><body>This domain was Sinkholed by Example Labs.</body>";
        assert_eq!(
            markers.sinkhole_marker(&plain, body),
            Some("Sinkholed by".to_string())
        );
    }

    #[test]
    fn ordinary_page_no_markers() {
        let markers = ResponseMarkers::new();
        let response = head(b"HTTP/1.1 200 OK\r\nServer: Apache\r\nSet-Cookie: sid=1\r\n\r\n");
        let body = b"<title>Kitchen sinks and holes in walls</title>";
        assert_eq!(markers.sinkhole_marker(&response, body), None);
        assert_eq!(markers.seized_title(body), None);
    }

    #[test]
    fn seized_title_found() {
        let markers = ResponseMarkers::new();
        let body = b"<html><head><TITLE>This domain has been seized</TITLE></head>";
        assert_eq!(
            markers.seized_title(body),
            Some("This domain has been seized".to_string())
        );
    }

    #[test]
    fn media_type_drops_parameters() {
        assert_eq!(
            media_type(" Application/X-Sh ; charset=x"),
            "application/x-sh"
        );
    }
}
