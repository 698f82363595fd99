//! Loading and checking the PEM certificate chain and private key for HTTPS.
//!
//! The vendored tiny_http parses these files with rustls-pki-types, and its errors name neither
//! file. [`load`] runs the same parser first, so that bad files give an error naming the file
//! and the fix, also from `--check`.

use std::fs;
use std::path::{Path, PathBuf};

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
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
        "invalid TLS key file {path}: {problem}; give an unencrypted PEM key (BEGIN PRIVATE KEY, \
         BEGIN RSA PRIVATE KEY or BEGIN EC PRIVATE KEY), converting others with: openssl pkcs8 \
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
/// certificate and the key file a PKCS#8, RSA or EC private key.
pub fn load(files: &TlsFiles) -> Result<TlsPem, TlsError> {
    let certificate = read(&files.cert)?;
    let private_key = read(&files.key)?;

    let chain = CertificateDer::pem_slice_iter(&certificate).collect::<Result<Vec<_>, _>>();
    let certificate_problem = match chain {
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

    let key_problem = match PrivateKeyDer::from_pem_slice(&private_key) {
        Ok(_) => None,
        Err(pem::Error::NoItemsFound) => Some("no private key found".to_string()),
        Err(error) => Some(format!("not valid PEM ({error})")),
    };
    if let Some(problem) = key_problem {
        return Err(TlsError::Key {
            path: files.key.clone(),
            problem,
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
