//! URL decoding of request paths and bodies before pattern matching.
//!
//! Attack tools percent-encode their payloads, often twice, so that a plain search for
//! `<script` or `../` misses them. The decoder turns `%XX` into its byte and `+` into a space,
//! then decodes the result once more if it still contains a `%XX`. It reads at most `limit`
//! input bytes, so its cost and its output are bounded by the caller.

/// Decodes at most `limit` bytes of `input` into `out`, which is cleared first. `scratch`
/// receives the result of the first pass when a second one is needed.
pub fn decode_for_matching(input: &[u8], limit: usize, out: &mut Vec<u8>, scratch: &mut Vec<u8>) {
    let input = input.get(..limit).unwrap_or(input);
    out.clear();
    percent_decode(input, out);
    if has_escape(out) {
        scratch.clear();
        percent_decode(out, scratch);
        std::mem::swap(out, scratch);
    }
}

/// Appends `input` to `out` with every valid `%XX` decoded and `+` turned into a space. A `%`
/// without two hex digits after it is kept as it is.
fn percent_decode(input: &[u8], out: &mut Vec<u8>) {
    let mut index = 0;
    while let Some(&byte) = input.get(index) {
        match byte {
            b'%' => match escape_value(input, index) {
                Some(value) => {
                    out.push(value);
                    index += 3;
                    continue;
                }
                None => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            other => out.push(other),
        }
        index += 1;
    }
}

/// Returns the byte that the `%XX` at `index` encodes.
fn escape_value(input: &[u8], index: usize) -> Option<u8> {
    let high = hex_value(*input.get(index + 1)?)?;
    let low = hex_value(*input.get(index + 2)?)?;
    Some(high << 4 | low)
}

fn has_escape(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .enumerate()
        .any(|(index, &byte)| byte == b'%' && escape_value(bytes, index).is_some())
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(input: &[u8], limit: usize) -> Vec<u8> {
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        decode_for_matching(input, limit, &mut out, &mut scratch);
        out
    }

    #[test]
    fn single_encoding_decoded() {
        assert_eq!(decoded(b"/a%20b+c%3Cscript%3e", 100), b"/a b c<script>");
    }

    #[test]
    fn double_encoding_decoded_once_more() {
        assert_eq!(decoded(b"/%252e%252e%252f", 100), b"/../");
    }

    #[test]
    fn triple_encoding_stops_after_two() {
        assert_eq!(decoded(b"%25252f", 100), b"%2f");
    }

    #[test]
    fn invalid_escapes_kept() {
        assert_eq!(decoded(b"100%+sure%zz%4", 100), b"100% sure%zz%4");
    }

    #[test]
    fn input_cut_at_limit() {
        assert_eq!(decoded(b"abcdef", 3), b"abc");
        assert_eq!(decoded(b"ab%41", 3), b"ab%");
    }
}
