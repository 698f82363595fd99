//! Ed25519 keys and detached store signatures.
//!
//! A secret key file contains the 32-byte seed, a public key file the 32-byte compressed point,
//! and a signature file (`STORE.sig`) the 64-byte signature over the store bytes, each as one
//! line of standard base64. Verification uses `verify_strict`, which also rejects the weak
//! keys and malleable signatures that plain ed25519 verification lets through.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

/// Length of a secret key seed and of a public key, in bytes.
const KEY_BYTES: usize = 32;

/// Length of a signature, in bytes.
const SIGNATURE_BYTES: usize = 64;

/// A key or signature that cannot be used, or a signature that does not match.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("failed to read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },

    #[error("failed to write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },

    #[error("{} already exists; remove it or choose another name", path.display())]
    Exists { path: PathBuf },

    #[error("invalid key file {}: {reason}", path.display())]
    Key { path: PathBuf, reason: String },

    #[error("invalid signature file {}: {reason}", path.display())]
    SignatureFormat { path: PathBuf, reason: String },

    /// The signature is well formed but was made by another key or over other bytes.
    #[error("the signature does not match: the store was signed by another key or was modified")]
    Mismatch,

    #[error("failed to generate a key: the system random source failed: {0}")]
    Random(String),
}

/// Returns `STORE.sig` for a store path.
pub fn signature_path(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

/// Returns `KEYFILE.pub` for a secret key path.
pub fn public_key_path(secret: &Path) -> PathBuf {
    let mut name = secret.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Generates a key pair and writes the secret key to `secret` (mode 0600) and the public key
/// to `secret.pub`. Neither file may exist yet, so an old key is never overwritten.
pub fn generate_key(secret: &Path) -> Result<VerifyingKey, SignError> {
    let public = public_key_path(secret);
    if public.exists() {
        return Err(SignError::Exists { path: public });
    }

    let mut seed = [0u8; KEY_BYTES];
    getrandom::fill(&mut seed).map_err(|error| SignError::Random(error.to_string()))?;
    let key = SigningKey::from_bytes(&seed);

    write_new(secret, 0o600, &encode_line(&seed))?;
    write_new(
        &public,
        0o644,
        &encode_line(&key.verifying_key().to_bytes()),
    )?;
    Ok(key.verifying_key())
}

/// Reads a secret key file.
pub fn read_signing_key(path: &Path) -> Result<SigningKey, SignError> {
    let seed = read_base64(path)?;
    let seed: [u8; KEY_BYTES] = seed.try_into().map_err(|bytes: Vec<u8>| SignError::Key {
        path: path.to_path_buf(),
        reason: format!(
            "{} bytes after base64 decoding, expected {KEY_BYTES}",
            bytes.len()
        ),
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Reads a public key file.
pub fn read_verifying_key(path: &Path) -> Result<VerifyingKey, SignError> {
    let bytes = read_base64(path)?;
    let invalid = |reason: String| SignError::Key {
        path: path.to_path_buf(),
        reason,
    };

    let bytes: [u8; KEY_BYTES] = bytes.try_into().map_err(|bytes: Vec<u8>| {
        invalid(format!(
            "{} bytes after base64 decoding, expected {KEY_BYTES}",
            bytes.len()
        ))
    })?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|_| invalid("the bytes are not a valid ed25519 public key".to_owned()))
}

/// Signs the bytes of `store` and writes `STORE.sig`, replacing an older signature.
pub fn sign_file(key: &SigningKey, store: &Path) -> Result<PathBuf, SignError> {
    let bytes = fs::read(store).map_err(|source| SignError::Read {
        path: store.to_path_buf(),
        source,
    })?;
    let signature = key.sign(&bytes);

    let path = signature_path(store);
    fs::write(&path, encode_line(&signature.to_bytes())).map_err(|source| SignError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

/// Decodes signature file contents, `origin` naming the file or URL in errors.
pub fn parse_signature(text: &[u8], origin: &Path) -> Result<Signature, SignError> {
    let invalid = |reason: String| SignError::SignatureFormat {
        path: origin.to_path_buf(),
        reason,
    };

    let text = std::str::from_utf8(text).map_err(|_| invalid("not base64 text".to_owned()))?;
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|error| invalid(format!("not base64: {error}")))?;
    let bytes: [u8; SIGNATURE_BYTES] = bytes.try_into().map_err(|bytes: Vec<u8>| {
        invalid(format!(
            "{} bytes after base64 decoding, expected {SIGNATURE_BYTES}",
            bytes.len()
        ))
    })?;
    Ok(Signature::from_bytes(&bytes))
}

/// Checks a signature over `bytes`.
pub fn verify_bytes(
    key: &VerifyingKey,
    bytes: &[u8],
    signature: &Signature,
) -> Result<(), SignError> {
    key.verify_strict(bytes, signature)
        .map_err(|_| SignError::Mismatch)
}

/// Checks `STORE.sig` against the bytes of `store`.
pub fn verify_file(key: &VerifyingKey, store: &Path) -> Result<(), SignError> {
    let signature_file = signature_path(store);
    let text = fs::read(&signature_file).map_err(|source| SignError::Read {
        path: signature_file.clone(),
        source,
    })?;
    let signature = parse_signature(&text, &signature_file)?;

    let bytes = fs::read(store).map_err(|source| SignError::Read {
        path: store.to_path_buf(),
        source,
    })?;
    verify_bytes(key, &bytes, &signature)
}

fn encode_line(bytes: &[u8]) -> String {
    let mut line = STANDARD.encode(bytes);
    line.push('\n');
    line
}

fn read_base64(path: &Path) -> Result<Vec<u8>, SignError> {
    let text = fs::read_to_string(path).map_err(|source| SignError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    STANDARD
        .decode(text.trim())
        .map_err(|error| SignError::Key {
            path: path.to_path_buf(),
            reason: format!("not base64: {error}"),
        })
}

/// Creates `path` with `mode`, failing when it exists, and writes `contents` durably.
fn write_new(path: &Path, mode: u32, contents: &str) -> Result<(), SignError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|source| match source.kind() {
            io::ErrorKind::AlreadyExists => SignError::Exists {
                path: path.to_path_buf(),
            },
            _ => SignError::Write {
                path: path.to_path_buf(),
                source,
            },
        })?;

    file.write_all(contents.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|source| SignError::Write {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn secret_key_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("key");
        generate_key(&secret).unwrap();

        let mode = fs::metadata(&secret).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn keygen_keeps_existing_key() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("key");
        generate_key(&secret).unwrap();

        assert!(matches!(
            generate_key(&secret),
            Err(SignError::Exists { .. })
        ));
    }

    #[test]
    fn signature_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("key");
        generate_key(&secret).unwrap();
        let store = dir.path().join("trails.store");
        fs::write(&store, b"store bytes").unwrap();

        sign_file(&read_signing_key(&secret).unwrap(), &store).unwrap();

        let public = read_verifying_key(&public_key_path(&secret)).unwrap();
        assert!(verify_file(&public, &store).is_ok());
    }

    #[test]
    fn modified_store_fails_verification() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("key");
        let public = generate_key(&secret).unwrap();
        let store = dir.path().join("trails.store");
        fs::write(&store, b"store bytes").unwrap();
        sign_file(&read_signing_key(&secret).unwrap(), &store).unwrap();

        fs::write(&store, b"store bytez").unwrap();

        assert!(matches!(
            verify_file(&public, &store),
            Err(SignError::Mismatch)
        ));
    }

    #[test]
    fn other_key_fails_verification() {
        let dir = tempfile::tempdir().unwrap();
        generate_key(&dir.path().join("a")).unwrap();
        let other = generate_key(&dir.path().join("b")).unwrap();
        let store = dir.path().join("trails.store");
        fs::write(&store, b"store bytes").unwrap();

        sign_file(&read_signing_key(&dir.path().join("a")).unwrap(), &store).unwrap();

        assert!(matches!(
            verify_file(&other, &store),
            Err(SignError::Mismatch)
        ));
    }

    #[test]
    fn short_public_key_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pub");
        fs::write(&path, STANDARD.encode([7u8; 16])).unwrap();

        let error = read_verifying_key(&path).unwrap_err().to_string();
        assert!(error.contains("16 bytes"), "{error}");
    }

    #[test]
    fn garbage_signature_is_rejected() {
        let result = parse_signature(b"<html>not found</html>", Path::new("x.sig"));

        assert!(matches!(result, Err(SignError::SignatureFormat { .. })));
    }
}
