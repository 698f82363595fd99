//! The table of known paths: the method each one allows and the query parameters it accepts.

use tiny_http::Method;

use super::params::{ParamError, Params};

/// The date range parameters of the data endpoints.
const RANGE: &[&str] = &["from", "to"];

/// The filter parameters that [`Params::filter`] reads.
const FILTER: &[&str] = &[
    "src", "dst", "port", "proto", "type", "trail", "info", "severity", "q",
];

/// A known path.
#[derive(Debug)]
pub struct Route {
    /// The one method the path allows.
    pub method: Method,
    /// Groups of accepted query parameter names, or `None` when the parameters are not checked.
    pub params: Option<&'static [&'static [&'static str]]>,
}

/// Returns the route of `path`, or `None` for an unknown path.
///
/// The routes without a session leave their parameters unchecked. So do the Maltrail-compatible
/// `/events` and `/counts`, so that clients written for Maltrail keep working.
pub fn find(path: &str) -> Option<Route> {
    let get = |params| Route {
        method: Method::Get,
        params: Some(params),
    };
    let route = match path {
        "/" | "/ping" | "/fail2ban" | "/events" | "/counts" => Route {
            method: Method::Get,
            params: None,
        },
        _ if path.starts_with("/static/") => Route {
            method: Method::Get,
            params: None,
        },
        "/login" | "/api/intake" => Route {
            method: Method::Post,
            params: None,
        },
        "/logout" => Route {
            method: Method::Post,
            params: Some(&[]),
        },
        "/api/session" => get(&[]),
        "/api/events" => get(&[RANGE, FILTER, &["offset", "limit", "sort"]]),
        "/api/threats" | "/api/timeline" | "/api/export.csv" | "/api/export.json" => {
            get(&[RANGE, FILTER])
        }
        "/api/pivot" => get(&[RANGE, FILTER, &["kind", "value"]]),
        "/api/live" => get(&[&["date", "after"], FILTER]),
        _ => return None,
    };
    Some(route)
}

impl Route {
    /// Checks that `params` contains only parameters this route accepts. The error names the
    /// first unknown parameter in alphabetical order and lists the accepted ones.
    pub fn check_params(&self, path: &str, params: &Params) -> Result<(), ParamError> {
        let Some(groups) = self.params else {
            return Ok(());
        };
        let accepted = || groups.iter().flat_map(|group| group.iter().copied());
        let mut unknown: Vec<&str> = params
            .names()
            .filter(|name| !accepted().any(|known| known == *name))
            .collect();
        unknown.sort_unstable();
        let Some(name) = unknown.first() else {
            return Ok(());
        };

        let problem = if groups.iter().all(|group| group.is_empty()) {
            format!("{path} takes no parameters")
        } else {
            let list: Vec<&str> = accepted().collect();
            format!("unknown to {path}, which accepts {}", list.join(", "))
        };
        Err(ParamError::new(name, problem))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_parameters_pass() {
        let route = find("/api/events").unwrap();
        let params = Params::parse("from=2026-01-15&q=x&limit=5&sort=-time").unwrap();

        assert_eq!(route.method, Method::Get);
        assert!(route.check_params("/api/events", &params).is_ok());
    }

    #[test]
    fn first_unknown_parameter_named() {
        let route = find("/api/events").unwrap();
        let params = Params::parse("zeta=1&date=2026-01-15&limit=5").unwrap();

        let failure = route.check_params("/api/events", &params).unwrap_err();

        assert_eq!(failure.name, "date");
        assert!(failure.problem.contains("from, to, src"), "{failure}");
    }

    #[test]
    fn unchecked_routes_accept_anything() {
        let route = find("/events").unwrap();
        let params = Params::parse("date=2026-01-15&_=1700000000").unwrap();

        assert!(route.check_params("/events", &params).is_ok());
        assert!(find("/api/nothing").is_none());
        assert_eq!(find("/logout").unwrap().method, Method::Post);
    }
}
