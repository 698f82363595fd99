//! Checks on one catalogue entry beyond what its types enforce.

use super::catalogue::Feed;
use super::format::{Column, Format, HeaderMode};

/// Maximum length of a feed name. Names become file names and log fields.
const MAX_NAME_LEN: usize = 64;

/// A check that failed: the key at fault and what is wrong with its value.
type Invalid = (&'static str, String);

/// Checks the keys of a feed, returning the first key at fault.
pub(crate) fn feed(feed: &Feed) -> Result<(), Invalid> {
    name(&feed.name)?;
    url(&feed.url)?;
    info(&feed.info)?;
    text("reference", &feed.reference)?;

    if feed.min_entries == Some(0) {
        let reason = "must be at least 1 (leave it out for no floor)".to_owned();
        return Err(("min_entries", reason));
    }
    format(&feed.format)
}

fn name(name: &str) -> Result<(), Invalid> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_');
    if valid {
        return Ok(());
    }

    let reason = format!("is {name:?}, but must be 1 to {MAX_NAME_LEN} characters of [a-z0-9_]");
    Err(("name", reason))
}

fn url(url: &str) -> Result<(), Invalid> {
    text("url", url)?;

    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Err((
            "url",
            format!("is {url:?}, but must start with https:// or http://"),
        ));
    };

    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || url.contains(char::is_whitespace) {
        return Err((
            "url",
            format!("is {url:?}, which has no host or contains whitespace"),
        ));
    }
    Ok(())
}

/// The info text must read `<name> (<category>)`, as Maltrail writes it.
fn info(info: &str) -> Result<(), Invalid> {
    text("info", info)?;

    let category = info
        .strip_suffix(')')
        .and_then(|head| head.rsplit_once(" ("))
        .filter(|(name, category)| !name.trim().is_empty() && !category.trim().is_empty());
    if category.is_none() {
        return Err((
            "info",
            format!("is {info:?}, but must read \"<name> (<category>)\""),
        ));
    }
    Ok(())
}

/// Event fields must be non-empty and free of control characters, which would break the
/// log line.
fn text(key: &'static str, value: &str) -> Result<(), Invalid> {
    if value.trim().is_empty() {
        return Err((key, "is empty".to_owned()));
    }
    if value.chars().any(char::is_control) {
        return Err((
            key,
            format!("is {value:?}, which contains a control character"),
        ));
    }
    Ok(())
}

fn format(format: &Format) -> Result<(), Invalid> {
    match format {
        Format::Csv {
            column,
            port_column,
            status_column,
            status_allow,
            delimiter,
            header,
        } => {
            csv_column("column", column, *header)?;
            if let Some(port_column) = port_column {
                csv_column("port_column", port_column, *header)?;
                if port_column == column {
                    return Err(("port_column", "is the same field as column".to_owned()));
                }
            }
            if let Some(status_column) = status_column {
                csv_column("status_column", status_column, *header)?;
            }

            match (status_column.is_some(), status_allow.is_empty()) {
                (true, true) => {
                    let reason = "is empty, so status_column would drop every row".to_owned();
                    return Err(("status_allow", reason));
                }
                (false, false) => {
                    let reason = "is set, but status_column is not".to_owned();
                    return Err(("status_allow", reason));
                }
                _ => {}
            }

            if matches!(delimiter, Some('"' | '\n' | '\r')) {
                return Err((
                    "delimiter",
                    format!("is {delimiter:?}, which cannot separate fields"),
                ));
            }
            Ok(())
        }
        Format::Json { path } => {
            if path.split('.').any(|segment| segment.trim().is_empty()) {
                return Err(("path", format!("is {path:?}, which has an empty key")));
            }
            Ok(())
        }
        Format::Delimited { separator, .. } => {
            if matches!(separator, '\n' | '\r') {
                return Err(("separator", "is a line break".to_owned()));
            }
            Ok(())
        }
        Format::Plain
        | Format::Ipset
        | Format::Hosts
        | Format::Urls
        | Format::Pipe { .. }
        | Format::Suricata
        | Format::TorExit => Ok(()),
    }
}

fn csv_column(key: &'static str, column: &Column, header: HeaderMode) -> Result<(), Invalid> {
    let Column::Name(name) = column else {
        return Ok(());
    };

    if name.trim().is_empty() {
        return Err((key, "is an empty column name".to_owned()));
    }
    if header == HeaderMode::None {
        let reason = format!(
            "names column {name:?}, but header is \"none\"; set header to \"row\" or \"comment\""
        );
        return Err((key, reason));
    }
    Ok(())
}
