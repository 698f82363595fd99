//! Loading and checking the PEM certificate chain and private key for HTTPS.
//!
//! tiny_http 0.12 parses these files with rustls-pemfile 0.2 and panics on some bad keys
//! (invalid base64, or a file with neither a PKCS#8 nor an RSA key). [`load`] runs the same
//! parser first, so that bad files give an error naming the file and the fix instead.

use std::fs;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::config::TlsFiles;

/// Reason the TLS files cannot be used.
#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot read TLS file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(
        "invalid TLS certificate file {path}: {problem}; give the PEM certificate chain, \
         server certificate first (for example from openssl req -x509)"
    )]
    Certificate { path: PathBuf, problem: String },

    #[error(
        "invalid TLS key file {path}: {problem}; give an unencrypted PKCS#8 (BEGIN PRIVATE KEY) \
         or RSA (BEGIN RSA PRIVATE KEY) PEM key, converting others with: openssl pkcs8 \
         -topk8 -nocrypt -in OLD -out {path}"
    )]
    Key { path: PathBuf, problem: String },
}

/// PEM contents of the certificate chain and key, checked to contain what tiny_http needs.
#[derive(Debug, Clone)]
pub struct TlsPem {
    pub certificate: Vec<u8>,
    pub private_key: Vec<u8>,
}

/// Reads both files of `files` and checks that the certificate file has at least one
/// certificate and the key file a PKCS#8 or RSA private key.
pub fn load(files: &TlsFiles) -> Result<TlsPem, TlsError> {
    let certificate = read(&files.cert)?;
    let private_key = read(&files.key)?;

    let certificate_problem = match rustls_pemfile::certs(&mut certificate.as_slice()) {
        Ok(chain) if chain.is_empty() => Some("no BEGIN CERTIFICATE block found".to_string()),
        Ok(_) => None,
        Err(error) => Some(format!("not valid PEM ({error})")),
    };
    if let Some(problem) = certificate_problem {
        return Err(TlsError::Certificate {
            path: files.cert.clone(),
            problem,
        });
    }

    let key_problem = |error: std::io::Error| TlsError::Key {
        path: files.key.clone(),
        problem: format!("not valid PEM ({error})"),
    };
    let pkcs8 =
        rustls_pemfile::pkcs8_private_keys(&mut private_key.as_slice()).map_err(key_problem)?;
    let rsa = rustls_pemfile::rsa_private_keys(&mut private_key.as_slice()).map_err(key_problem)?;
    if pkcs8.is_empty() && rsa.is_empty() {
        return Err(TlsError::Key {
            path: files.key.clone(),
            problem: "no PKCS#8 or RSA private key found".to_string(),
        });
    }

    Ok(TlsPem {
        certificate,
        private_key,
    })
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}
