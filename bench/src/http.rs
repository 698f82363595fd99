//! HTTP/1.1 request messages (RFC 9112) as a client sends them in one TCP segment.

/// An HTTP request. `host` is the Host header value, with `:port` when the port is not 80.
#[derive(Clone, Copy, Debug)]
pub struct HttpRequest<'a> {
    pub method: &'a str,
    pub host: &'a str,
    /// Request target in origin form: a path starting with `/`, optionally with a query.
    pub path: &'a str,
    pub user_agent: &'a str,
    /// Request body; a non-empty body adds Content-Type and Content-Length headers.
    pub body: &'a [u8],
}

/// Writes `request` into `out` as it appears on the wire.
pub fn build_request(out: &mut Vec<u8>, request: &HttpRequest<'_>) {
    out.clear();

    for part in [
        request.method,
        " ",
        request.path,
        " HTTP/1.1\r\nHost: ",
        request.host,
    ] {
        out.extend_from_slice(part.as_bytes());
    }
    for part in [
        "\r\nUser-Agent: ",
        request.user_agent,
        "\r\nAccept: */*\r\n",
    ] {
        out.extend_from_slice(part.as_bytes());
    }
    out.extend_from_slice(b"Accept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n");

    if !request.body.is_empty() {
        out.extend_from_slice(b"Content-Type: application/x-www-form-urlencoded\r\n");
        out.extend_from_slice(format!("Content-Length: {}\r\n", request.body.len()).as_bytes());
    }

    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(request.body);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(body: &[u8]) -> HttpRequest<'_> {
        HttpRequest {
            method: "POST",
            host: "shop.example:8080",
            path: "/cart?id=1",
            user_agent: "curl/8.5.0",
            body,
        }
    }

    #[test]
    fn request_line_comes_first() {
        let mut out = Vec::new();
        build_request(&mut out, &request(b""));
        assert!(out.starts_with(b"POST /cart?id=1 HTTP/1.1\r\nHost: shop.example:8080\r\n"));
    }

    #[test]
    fn body_gets_content_length() {
        let mut out = Vec::new();
        build_request(&mut out, &request(b"a=1&b=2"));
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\r\nContent-Length: 7\r\n"));
        assert!(text.ends_with("\r\n\r\na=1&b=2"));
    }

    #[test]
    fn empty_body_has_no_content_length() {
        let mut out = Vec::new();
        build_request(&mut out, &request(b""));
        assert!(!String::from_utf8(out).unwrap().contains("Content-Length"));
    }
}
