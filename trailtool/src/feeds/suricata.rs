//! Suricata rule files, such as the Emerging Threats `botcc.rules` and malware rule sets.
//!
//! A rule is `action proto src_addr src_port direction dst_addr dst_port (options)`. Two
//! kinds of indicator come out of it:
//!
//! * the IP addresses and CIDR blocks of the source and destination, including bracketed
//!   lists (`[198.51.100.7,203.0.113.0/24]`) but not variables, `any` or negated entries;
//! * the name in a `dns.query`, `dns_query`, `tls.sni` or `tls_sni` buffer, when the buffer
//!   has exactly one positive `content`. A leading dot (the `dotprefix` style
//!   `content:".evil.com"`) is dropped, so the trail matches the name and its subdomains.
//!
//! A buffer with several contents matches their combination, which no single trail can
//! express, so it is skipped. Lines starting with `#` are comments, commented-out rules
//! included.

use super::indicator;
use super::lines;
use super::parsed::Collector;

/// Sticky buffers whose content is a host name.
const NAME_BUFFERS: &[&str] = &["dns.query", "dns_query", "tls.sni", "tls_sni"];

/// Sticky buffers without a dot in their name. Dotted keywords without a value
/// (`http.uri;`) are buffers too.
const UNDOTTED_BUFFERS: &[&str] = &["pkt_data", "file_data", "base64_data"];

/// Parses every rule line. Returns the reason when the body has lines but no rule.
pub(crate) fn parse(body: &str, out: &mut Collector) -> Result<(), String> {
    let mut data_lines = 0;
    let mut rules = 0;

    for (number, rule) in joined_rules(body) {
        data_lines += 1;
        let Some((header, options)) = split_rule(&rule) else {
            continue;
        };
        rules += 1;

        parse_header(number, header, out);
        parse_options(number, options, out);
    }

    if data_lines > 0 && rules == 0 {
        return Err(format!("none of its {data_lines} lines is a rule"));
    }
    Ok(())
}

/// Returns `(first line number, rule text)` for every rule line, joining lines that end in
/// `\`.
fn joined_rules(body: &str) -> Vec<(usize, String)> {
    let mut rules = Vec::new();
    let mut pending: Option<(usize, String)> = None;

    for (number, line) in lines::numbered_lines(body) {
        if pending.is_none() && (line.is_empty() || line.starts_with('#')) {
            continue;
        }

        let (text, continues) = match line.strip_suffix('\\') {
            Some(text) => (text, true),
            None => (line, false),
        };
        let (first, mut rule) = pending.take().unwrap_or((number, String::new()));
        rule.push_str(text);

        if continues {
            pending = Some((first, rule));
        } else {
            rules.push((first, rule));
        }
    }

    rules.extend(pending);
    rules
}

/// Splits a rule into its header and the text between the option parentheses.
fn split_rule(rule: &str) -> Option<(&str, &str)> {
    let open = rule.find('(')?;
    let close = rule.rfind(')').filter(|&close| close > open)?;
    Some((&rule[..open], &rule[open + 1..close]))
}

/// Records the addresses of the source and destination fields of a rule header.
fn parse_header(number: usize, header: &str, out: &mut Collector) {
    let fields = split_header(header);
    if fields.len() != 7 {
        return;
    }

    for field in [fields[2], fields[5]] {
        for atom in positive_atoms(field) {
            if atom.eq_ignore_ascii_case("any") || atom.starts_with('$') {
                continue;
            }
            out.record(number, atom, indicator::parse_address(atom));
        }
    }
}

/// Splits a header at whitespace outside brackets, so `[a, b]` stays one field.
fn split_header(header: &str) -> Vec<&str> {
    let mut fields = Vec::new();
    let mut depth = 0usize;
    let mut start = None;

    for (index, c) in header.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            c if c.is_whitespace() && depth == 0 => {
                if let Some(begin) = start.take() {
                    fields.push(&header[begin..index]);
                }
                continue;
            }
            _ => {}
        }
        start.get_or_insert(index);
    }

    if let Some(begin) = start {
        fields.push(&header[begin..]);
    }
    fields
}

/// Returns the entries of an address expression that are not negated, directly
/// (`!198.51.100.7`) or through a negated group (`![a,b]`).
fn positive_atoms(expression: &str) -> Vec<&str> {
    let mut atoms = Vec::new();
    let mut negated_groups: Vec<bool> = Vec::new();
    let mut negated = false;
    let mut pending_not = false;
    let mut atom: Option<(usize, bool)> = None;

    for (index, c) in expression.char_indices() {
        match c {
            '!' if atom.is_none() => pending_not = !pending_not,
            '[' if atom.is_none() => {
                negated_groups.push(negated);
                negated ^= pending_not;
                pending_not = false;
            }
            ']' | ',' => {
                if let Some((begin, atom_negated)) = atom.take() {
                    push_atom(&mut atoms, expression[begin..index].trim(), atom_negated);
                }
                if c == ']' {
                    negated = negated_groups.pop().unwrap_or(false);
                }
            }
            c if c.is_whitespace() && atom.is_none() => {}
            _ => {
                if atom.is_none() {
                    atom = Some((index, negated ^ pending_not));
                    pending_not = false;
                }
            }
        }
    }

    if let Some((begin, atom_negated)) = atom {
        push_atom(&mut atoms, expression[begin..].trim(), atom_negated);
    }
    atoms
}

fn push_atom<'a>(atoms: &mut Vec<&'a str>, atom: &'a str, negated: bool) {
    if !negated && !atom.is_empty() {
        atoms.push(atom);
    }
}

/// One name buffer of a rule and the positive contents that follow it.
struct NameBuffer {
    keyword: String,
    contents: Vec<String>,
}

/// Records the names of the rule's `dns.query`/`tls.sni` buffers.
fn parse_options(number: usize, options: &str, out: &mut Collector) {
    let mut current: Option<NameBuffer> = None;

    for option in split_options(options) {
        let (keyword, value) = match option.split_once(':') {
            Some((keyword, value)) => (keyword.trim().to_ascii_lowercase(), Some(value.trim())),
            None => (option.trim().to_ascii_lowercase(), None),
        };

        if NAME_BUFFERS.contains(&keyword.as_str()) && value.is_none() {
            finish_buffer(number, current.take(), out);
            current = Some(NameBuffer {
                keyword,
                contents: Vec::new(),
            });
        } else if keyword == "content" {
            if let (Some(buffer), Some(content)) = (current.as_mut(), value.and_then(content_text))
            {
                buffer.contents.push(content);
            }
        } else if value.is_none()
            && (keyword.contains('.') || UNDOTTED_BUFFERS.contains(&keyword.as_str()))
        {
            finish_buffer(number, current.take(), out);
        }
    }

    finish_buffer(number, current, out);
}

fn finish_buffer(number: usize, buffer: Option<NameBuffer>, out: &mut Collector) {
    let Some(buffer) = buffer else {
        return;
    };

    match buffer.contents.as_slice() {
        [] => {
            let reason = "has no positive content, so there is no name to match";
            out.skip(number, &buffer.keyword, reason, false);
        }
        [content] => {
            let name = content.strip_prefix('.').unwrap_or(content);
            out.record(number, content, indicator::parse_domain(name));
        }
        contents => {
            let reason = format!(
                "has {} contents, which no single trail can combine",
                contents.len()
            );
            out.skip(number, &buffer.keyword, &reason, false);
        }
    }
}

/// Returns the text of a positive `content` value, or `None` for a negated one.
///
/// Escapes (`\"`, `\;`, `\\`) are resolved. Hex bytes (`|2e|`) are kept, so such a content
/// later fails the domain check.
fn content_text(value: &str) -> Option<String> {
    if value.starts_with('!') {
        return None;
    }

    let quoted = value.strip_prefix('"')?;
    let mut text = String::with_capacity(quoted.len());
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => text.extend(chars.next()),
            '"' => break,
            c => text.push(c),
        }
    }
    Some(text)
}

/// Splits the option text at `;` outside quotes. A backslash escapes the next character.
fn split_options(options: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut escaped = false;
    let mut start = 0;

    for (index, c) in options.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' => in_quotes = !in_quotes,
            ';' if !in_quotes => {
                parts.push(&options[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }

    parts.push(&options[start..]);
    parts.retain(|part| !part.trim().is_empty());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: &str) -> super::super::Parsed {
        let mut out = Collector::default();
        parse(body, &mut out).unwrap();
        out.finish()
    }

    #[test]
    fn bracket_list_gives_each_address() {
        let rule =
            "alert ip $HOME_NET any -> [198.51.100.7,203.0.113.0/24] any (msg:\"x\"; sid:1;)";

        assert_eq!(run(rule).indicators, ["198.51.100.7", "203.0.113.0/24"]);
    }

    #[test]
    fn source_list_is_read() {
        let rule = "alert ip [198.51.100.7] any -> $HOME_NET any (msg:\"x\"; sid:1;)";

        assert_eq!(run(rule).indicators, ["198.51.100.7"]);
    }

    #[test]
    fn negated_entries_are_ignored() {
        let rule = "alert ip [198.51.100.7,!198.51.100.8,![203.0.113.1,203.0.113.2]] any \
            -> any any (sid:1;)";

        assert_eq!(run(rule).indicators, ["198.51.100.7"]);
    }

    #[test]
    fn dns_query_content_is_domain() {
        let rule = "alert dns $HOME_NET any -> any any (msg:\"x\"; dns.query; \
            content:\"Evil.Example.com\"; nocase; endswith; sid:1;)";

        assert_eq!(run(rule).indicators, ["evil.example.com"]);
    }

    #[test]
    fn old_dns_query_keyword_is_read() {
        let rule = "alert dns $HOME_NET any -> any any (dns_query; content:\"evil.example.com\"; \
            depth:16; sid:1;)";

        assert_eq!(run(rule).indicators, ["evil.example.com"]);
    }

    #[test]
    fn tls_sni_content_is_domain() {
        let rule = "alert tls $HOME_NET any -> $EXTERNAL_NET any (tls.sni; \
            content:\"c2.example.net\"; endswith; nocase; sid:1;)";

        assert_eq!(run(rule).indicators, ["c2.example.net"]);
    }

    #[test]
    fn dotprefix_content_loses_dot() {
        let rule = "alert dns any any -> any any (dns.query; dotprefix; \
            content:\".evil.example.com\"; endswith; sid:1;)";

        assert_eq!(run(rule).indicators, ["evil.example.com"]);
    }

    #[test]
    fn onion_label_content_is_skipped() {
        let rule = "alert dns any any -> any any (dns_query; content:\"pc35hiptpcwqezgs\"; sid:1;)";

        assert_eq!(run(rule).skipped, 1);
    }

    #[test]
    fn two_contents_are_skipped() {
        let rule = "alert dns any any -> any any (dns.query; content:\"evil\"; \
            content:\".example.com\"; sid:1;)";

        assert_eq!(run(rule).indicators, Vec::<String>::new());
    }

    #[test]
    fn content_in_other_buffer_is_ignored() {
        let rule = "alert http any any -> any any (dns.query; content:\"a.example.com\"; \
            http.uri; content:\"/gate.php\"; sid:1;)";

        assert_eq!(run(rule).indicators, ["a.example.com"]);
    }

    #[test]
    fn commented_rule_is_skipped() {
        let body = "#alert dns any any -> any any (dns.query; content:\"a.example.com\"; sid:1;)\n";

        assert_eq!(run(body).indicators, Vec::<String>::new());
    }

    #[test]
    fn quoted_semicolon_does_not_split() {
        let options = "msg:\"a; b\"; sid:1;";

        assert_eq!(split_options(options), ["msg:\"a; b\"", " sid:1"]);
    }

    #[test]
    fn continued_rule_is_joined() {
        let body = "alert ip [198.51.100.7] any -> any any \\\n(sid:1;)\n";

        assert_eq!(run(body).indicators, ["198.51.100.7"]);
    }

    #[test]
    fn body_without_rules_is_wrong_format() {
        let mut out = Collector::default();

        assert!(parse("198.51.100.7\n", &mut out).is_err());
    }
}
