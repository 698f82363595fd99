//! Punycode (RFC 3492) encoding of internationalised domain labels.
//!
//! DNS carries an internationalised name in its ASCII "xn--" form, so a trail written in Unicode
//! is stored in that form. This covers the encoding step only: the caller lower-cases the label
//! and rejects characters that cannot appear in a host name.

const BASE: u32 = 36;
const T_MIN: u32 = 1;
const T_MAX: u32 = 26;
const SKEW: u32 = 38;
const DAMP: u32 = 700;
const INITIAL_BIAS: u32 = 72;
const INITIAL_N: u32 = 128;

/// The ACE prefix that marks an encoded label.
pub(crate) const ACE_PREFIX: &str = "xn--";

/// Encodes one label that contains at least one non-ASCII character as `xn--...`.
///
/// Returns `None` when the delta arithmetic would overflow, which only very long labels reach;
/// such labels exceed the 63-byte DNS limit anyway.
pub(crate) fn encode_label(label: &str) -> Option<String> {
    let code_points: Vec<u32> = label.chars().map(u32::from).collect();
    let mut output = String::from(ACE_PREFIX);

    // The basic (ASCII) code points are copied first, followed by a delimiter if there were any.
    let basic_count = label.chars().filter(char::is_ascii).count();
    output.extend(label.chars().filter(char::is_ascii));
    if basic_count > 0 {
        output.push('-');
    }

    let mut n = INITIAL_N;
    let mut delta: u32 = 0;
    let mut bias = INITIAL_BIAS;
    let mut handled = basic_count;

    while handled < code_points.len() {
        // The next code point to insert is the smallest one not handled yet.
        let next = code_points.iter().copied().filter(|&c| c >= n).min()?;
        let step = (next - n).checked_mul(to_u32(handled + 1)?)?;
        delta = delta.checked_add(step)?;
        n = next;

        for &c in &code_points {
            if c < n {
                delta = delta.checked_add(1)?;
            }
            if c == n {
                push_variable_length(&mut output, delta, bias);
                bias = adapt(delta, to_u32(handled + 1)?, handled == basic_count);
                delta = 0;
                handled += 1;
            }
        }

        delta = delta.checked_add(1)?;
        n = n.checked_add(1)?;
    }

    Some(output)
}

fn to_u32(count: usize) -> Option<u32> {
    u32::try_from(count).ok()
}

/// Writes `value` as a generalised variable-length integer with thresholds from `bias`.
fn push_variable_length(output: &mut String, value: u32, bias: u32) {
    let mut q = value;
    let mut k = BASE;

    loop {
        let threshold = if k <= bias {
            T_MIN
        } else if k >= bias + T_MAX {
            T_MAX
        } else {
            k - bias
        };
        if q < threshold {
            break;
        }

        output.push(digit(threshold + (q - threshold) % (BASE - threshold)));
        q = (q - threshold) / (BASE - threshold);
        k += BASE;
    }

    output.push(digit(q));
}

/// Adapts the bias after each encoded delta.
fn adapt(delta: u32, points: u32, first: bool) -> u32 {
    let mut delta = if first { delta / DAMP } else { delta / 2 };
    delta += delta / points;

    let mut k = 0;
    while delta > ((BASE - T_MIN) * T_MAX) / 2 {
        delta /= BASE - T_MIN;
        k += BASE;
    }

    k + (BASE - T_MIN + 1) * delta / (delta + SKEW)
}

/// Maps 0..=25 to `a..=z` and 26..=35 to `0..=9`.
fn digit(value: u32) -> char {
    let byte = if value < 26 {
        b'a' + value as u8
    } else {
        b'0' + (value - 26) as u8
    };
    char::from(byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values come from CPython 3's built-in "punycode" codec.
    #[test]
    fn label_with_ascii_part_encodes() {
        assert_eq!(encode_label("münchen").as_deref(), Some("xn--mnchen-3ya"));
    }

    #[test]
    fn second_latin_label_is_encoded() {
        assert_eq!(encode_label("bücher").as_deref(), Some("xn--bcher-kva"));
    }

    #[test]
    fn cyrillic_only_label_encodes() {
        assert_eq!(
            encode_label("правительство").as_deref(),
            Some("xn--80aealotwbjpid2k")
        );
    }

    #[test]
    fn cjk_label_is_encoded() {
        assert_eq!(encode_label("例え").as_deref(), Some("xn--r8jz45g"));
    }

    #[test]
    fn single_non_ascii_label_encodes() {
        assert_eq!(encode_label("ü").as_deref(), Some("xn--tda"));
    }
}
