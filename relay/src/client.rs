//! One intake request from the sender: POST of a signed batch body, and the acknowledged
//! sequence number from the response.

use std::io::Read;
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::secret::{Secret, SIGNATURE_HEADER};

/// Bytes of a response body read at most. An acknowledgement is a few dozen bytes, and an
/// error response is kept only for the log message.
const MAX_RESPONSE_BYTES: u64 = 4096;

/// Characters of an error response shown in a log message.
const MAX_SHOWN_RESPONSE_CHARS: usize = 200;

/// Failure of one intake request. The messages leave the URL out, because the sender's log
/// lines name it already ("delivery to URL failed: ...").
#[derive(Debug, Error)]
pub enum PostError {
    #[error("request failed: {source}")]
    Request { url: String, source: minreq::Error },

    #[error("the viewer responded with status {status} {reason}: {body}{}", status_hint(*status))]
    Status {
        url: String,
        status: u16,
        reason: String,
        body: String,
    },

    #[error("the viewer responded 200 without a valid acknowledgement: {body:?}")]
    InvalidAck { url: String, body: String },
}

/// Returns advice for the operator on a status code that configuration can cause.
fn status_hint(status: u16) -> &'static str {
    match status {
        401 => " (check that secret_file holds the viewer's intake secret)",
        404 | 405 => " (check the delivery url; the viewer serves /api/intake by default)",
        _ => "",
    }
}

#[derive(Deserialize)]
struct AckBody {
    acked: u64,
}

/// Sender side of the intake protocol for one URL.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    url: String,
    secret: Secret,
}

impl Client {
    pub(crate) fn new(url: String, secret: Secret) -> Client {
        Client { url, secret }
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// POSTs `body` with its signature and returns the sequence number the receiver
    /// acknowledged. `timeout` bounds the whole request and is rounded up to whole seconds.
    /// Redirects are not followed, because a POST must not silently go elsewhere.
    ///
    /// minreq 3.0 with its `proxy` feature, which this crate enables, sends the request through
    /// the proxy named in `http_proxy`, `https_proxy` or `all_proxy` when one is set. It has no
    /// `no_proxy` list.
    pub(crate) fn post(&self, body: Vec<u8>, timeout: Duration) -> Result<u64, PostError> {
        let request_error = |source| PostError::Request {
            url: self.url.clone(),
            source,
        };
        let seconds = timeout.as_secs() + u64::from(timeout.subsec_nanos() > 0);

        let signature = self.secret.sign(&body);
        let mut response = minreq::post(self.url.as_str())
            .with_header("Content-Type", "application/json")
            .with_header(SIGNATURE_HEADER, signature)
            .with_body(body)
            .with_timeout(seconds.max(1))
            .with_follow_redirects(false)
            .send_lazy()
            .map_err(request_error)?;

        let status = response.status_code;
        let reason = std::mem::take(&mut response.reason_phrase);
        let mut text = Vec::new();
        response
            .take(MAX_RESPONSE_BYTES)
            .read_to_end(&mut text)
            .map_err(|error| request_error(minreq::Error::IoError(error)))?;
        let text = String::from_utf8_lossy(&text);

        if status != 200 {
            return Err(PostError::Status {
                url: self.url.clone(),
                status,
                reason,
                body: text.trim().chars().take(MAX_SHOWN_RESPONSE_CHARS).collect(),
            });
        }
        match serde_json::from_str::<AckBody>(&text) {
            Ok(ack) => Ok(ack.acked),
            Err(_) => Err(PostError::InvalidAck {
                url: self.url.clone(),
                body: text.chars().take(MAX_SHOWN_RESPONSE_CHARS).collect(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_support_is_compiled_in() {
        if std::env::var_os("https_proxy").is_some() {
            eprintln!("skipping: https_proxy is set, and minreq would send the request to it");
            return;
        }
        // Nothing listens on a port that was just released, so the connection is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = Client::new(
            format!("https://127.0.0.1:{port}/api/intake"),
            Secret::new(vec![1; 16]).unwrap(),
        );

        let error = client
            .post(b"{}".to_vec(), Duration::from_secs(5))
            .unwrap_err();

        assert!(
            matches!(
                error,
                PostError::Request {
                    source: minreq::Error::IoError(_),
                    ..
                }
            ),
            "{error}"
        );
    }
}
