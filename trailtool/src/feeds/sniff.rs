//! Recognising bodies that plainly have another format than the feed's.

use serde::de::IgnoredAny;

use super::format::Format;
use super::lines;

/// Returns the reason when the body is an HTML or XML page (an error or login page served
/// in place of the list), or a JSON document fetched for a text format.
pub(crate) fn check(format: &Format, body: &str) -> Result<(), String> {
    let start = body.trim_start_matches('\u{feff}').trim_start();
    if start.starts_with('<') {
        return Err("it is an HTML or XML document".to_owned());
    }
    if matches!(format, Format::Json { .. }) {
        return Ok(());
    }

    let Some((_, first)) = lines::data_lines(body).next() else {
        return Ok(());
    };
    // `[2001:db8::1]:443` also starts with a bracket, but is not JSON.
    if first.starts_with(['{', '[']) && (is_json(first) || is_json(start)) {
        return Err("it is a JSON document".to_owned());
    }
    Ok(())
}

fn is_json(text: &str) -> bool {
    serde_json::from_str::<IgnoredAny>(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_page_is_rejected() {
        let body = "\n<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>\n";

        assert!(check(&Format::Plain, body).is_err());
    }

    #[test]
    fn json_body_for_csv_is_rejected() {
        let format = Format::Csv {
            column: super::super::Column::Index(1),
            port_column: None,
            status_column: None,
            status_allow: Vec::new(),
            delimiter: None,
            header: super::super::HeaderMode::None,
        };

        assert!(check(&format, "{\"query_status\":\"ok\",\"data\":[]}\n").is_err());
    }

    #[test]
    fn bracketed_ipv6_is_not_json() {
        assert_eq!(check(&Format::Plain, "[2001:db8::1]:443\n"), Ok(()));
    }

    #[test]
    fn json_body_for_json_feed_passes() {
        let format = Format::Json {
            path: "ip".to_owned(),
        };

        assert_eq!(check(&format, "[{\"ip\":\"198.51.100.7\"}]"), Ok(()));
    }

    #[test]
    fn empty_body_passes() {
        assert_eq!(check(&Format::Plain, ""), Ok(()));
    }
}
