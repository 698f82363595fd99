//! The hash used for every table keyed by indicator text.
//!
//! The URL lookup probes "host suffix + path prefix" keys without building them, so the hash
//! has to give the same value whether a key is fed in one piece or several. It consumes the
//! bytes in 8-byte little-endian words, buffering a partial word between writes, and folds
//! ASCII case, so a request path in any case finds a lower-cased trail.
//!
//! The compiled store places keys by these hashes, so they are part of the store format:
//! changing one needs a new format version.

/// Multiplier of the word mix, the 64-bit constant that rustc-hash 2.1 uses for `FxHasher`.
const WORD_MULTIPLIER: u64 = 0xf135_7aea_2e62_a9c5;

const LOW_BITS: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// A streaming, ASCII-case-insensitive hash over key bytes.
///
/// Feeding `a` then `b` gives the same result as feeding `a` followed by `b` in one slice.
#[derive(Clone, Copy, Debug)]
pub(crate) struct KeyHasher {
    state: u64,
    /// Bytes not yet mixed, in the low `pending_len` bytes.
    pending: u64,
    pending_len: u32,
    total_len: u64,
}

impl KeyHasher {
    pub(crate) fn new() -> KeyHasher {
        KeyHasher {
            state: 0,
            pending: 0,
            pending_len: 0,
            total_len: 0,
        }
    }

    #[inline]
    pub(crate) fn write(&mut self, mut bytes: &[u8]) {
        self.total_len += bytes.len() as u64;

        // Top up a partial word left by an earlier write first.
        if self.pending_len != 0 {
            let copied = bytes.len().min(8 - self.pending_len as usize);
            self.pending |= read_partial(&bytes[..copied]) << (8 * self.pending_len);
            self.pending_len += copied as u32;
            bytes = &bytes[copied..];
            if self.pending_len < 8 {
                return;
            }
            let word = self.pending;
            self.mix(word);
            self.pending = 0;
            self.pending_len = 0;
        }

        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.mix(read_partial(word));
        }
        self.pending = read_partial(words.remainder());
        self.pending_len = words.remainder().len() as u32;
    }

    #[inline]
    fn mix(&mut self, word: u64) {
        self.state = (self.state.rotate_left(5) ^ lower_ascii(word)).wrapping_mul(WORD_MULTIPLIER);
    }

    /// Returns the hash of the bytes fed so far. The hasher can keep taking bytes afterwards.
    ///
    /// The length goes in so that keys differing only by trailing NUL bytes differ. The final
    /// avalanche (MurmurHash3's fmix64) spreads every input bit over the low bits, which
    /// hashbrown uses for the bucket index, and over the top 7 bits, which it uses as tags.
    pub(crate) fn finish(&self) -> u64 {
        let hash = (self.state.rotate_left(5) ^ lower_ascii(self.pending))
            .wrapping_mul(WORD_MULTIPLIER)
            ^ self.total_len;
        mix64(hash)
    }
}

/// Spreads every input bit over the whole output: MurmurHash3's 64-bit finaliser (fmix64).
#[inline]
pub(crate) fn mix64(mut hash: u64) -> u64 {
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
    hash ^= hash >> 33;
    hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    hash ^ (hash >> 33)
}

/// Hashes an IPv4 address for the endpoint filter. The store format fixes this function, so
/// it must not change without a new format version.
#[inline]
pub(crate) fn hash_v4_address(address: u32) -> u64 {
    mix64(u64::from(address))
}

/// Reads up to 8 bytes as a little-endian word, zero-padded.
#[inline]
fn read_partial(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(word)
}

/// Lower-cases the ASCII capitals among the 8 bytes of a word and leaves other bytes as they
/// are.
fn lower_ascii(word: u64) -> u64 {
    // Per byte, with the top bit cleared: adding 0x3f sets the top bit from 'A' (0x41) up, and
    // adding 0x25 sets it from '[' (0x5b) up. Neither sum carries into the next byte.
    let seven_bits = word & !HIGH_BITS;
    let from_a = seven_bits.wrapping_add(LOW_BITS * 0x3f);
    let after_z = seven_bits.wrapping_add(LOW_BITS * 0x25);
    let capitals = from_a & !after_z & !word & HIGH_BITS;
    word | (capitals >> 2)
}

/// Hashes one whole key.
pub(crate) fn hash_key(bytes: &[u8]) -> u64 {
    let mut hasher = KeyHasher::new();
    hasher.write(bytes);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_hash_like_whole_key() {
        let mut hasher = KeyHasher::new();
        hasher.write(b"www.evil.com");
        hasher.write(b"/gate.php");

        assert_eq!(hasher.finish(), hash_key(b"www.evil.com/gate.php"));
    }

    #[test]
    fn every_split_hashes_alike() {
        let key = b"a.b.example.com/panel/gate.php?id=1";

        let splits_agree = (0..=key.len()).all(|split| {
            let mut hasher = KeyHasher::new();
            hasher.write(&key[..split]);
            for &byte in &key[split..] {
                hasher.write(&[byte]);
            }
            hasher.finish() == hash_key(key)
        });
        assert!(splits_agree);
    }

    #[test]
    fn ascii_case_is_ignored() {
        assert_eq!(
            hash_key(b"/Gate.PHP?ID=A&Z=z"),
            hash_key(b"/gate.php?id=a&z=z")
        );
    }

    #[test]
    fn lowering_matches_std() {
        let all_bytes: Vec<u8> = (0..=255).collect();

        let agrees = all_bytes.chunks(8).all(|chunk| {
            let word = u64::from_le_bytes(chunk.try_into().unwrap());
            lower_ascii(word).to_le_bytes() == chunk.to_ascii_lowercase().as_slice()
        });
        assert!(agrees);
    }

    #[test]
    fn different_keys_hash_differently() {
        assert_ne!(hash_key(b"evil.com"), hash_key(b"evil.co"));
    }

    #[test]
    fn trailing_nul_changes_hash() {
        assert_ne!(hash_key(b"evil"), hash_key(b"evil\0"));
    }

    #[test]
    fn finish_does_not_consume_state() {
        let mut hasher = KeyHasher::new();
        hasher.write(b"evil");
        let _ = hasher.finish();
        hasher.write(b".com");

        assert_eq!(hasher.finish(), hash_key(b"evil.com"));
    }
}
