//! Parameter checks, path traversal and response headers against a real viewer.

mod common;

use common::{get, request, TestViewer};

#[test]
fn traversal_attempts_get_404() {
    let viewer = TestViewer::start();
    let paths = [
        "/static/../Cargo.toml",
        "/static/%2e%2e/Cargo.toml",
        "/static/%2E%2E%2FCargo.toml",
        "/static/..%2fCargo.toml",
        "/static/%252e%252e/Cargo.toml",
        "/static//etc/passwd",
        "/static/ui/../../Cargo.toml",
        "/etc/passwd",
        "//etc/passwd",
        "/static/",
        "/static/app.js/",
    ];

    for path in paths {
        let reply = get(viewer.addr, path, None);

        assert_eq!(reply.status, 404, "GET {path}");
        assert!(
            !reply.body.contains("[package]"),
            "GET {path} leaked a file"
        );
    }
}

#[test]
fn embedded_files_served() {
    let viewer = TestViewer::start();

    let page = get(viewer.addr, "/", None);
    let script = get(viewer.addr, "/static/app.js", None);
    let style = get(viewer.addr, "/static/style.css", None);

    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(script.status, 200);
    assert!(script
        .header("content-type")
        .unwrap()
        .contains("javascript"));
    assert_eq!(style.status, 200);
}

#[test]
fn security_headers_on_every_response() {
    let viewer = TestViewer::start();
    let session = viewer.login("admin");

    for reply in [
        get(viewer.addr, "/", None),
        get(viewer.addr, "/nothing", None),
        get(viewer.addr, "/api/events", None),
        session.get("/api/events"),
    ] {
        let policy = reply.header("content-security-policy").unwrap();
        assert!(policy.contains("default-src 'self'"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert_eq!(reply.header("x-frame-options"), Some("DENY"));
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
    }
    assert_eq!(
        session.get("/api/events").header("cache-control"),
        Some("no-store")
    );
}

#[test]
fn malformed_parameters_name_parameter() {
    let viewer = TestViewer::start();
    let session = viewer.login("admin");
    let cases = [
        ("/api/events?from=2026-13-01", "from"),
        ("/api/events?to=yesterday", "to"),
        ("/api/events?from=2026-02-02&to=2026-02-01", "from"),
        ("/api/events?from=2024-01-01&to=2026-01-01", "to"),
        ("/api/events?limit=100000", "limit"),
        ("/api/events?limit=-1", "limit"),
        ("/api/events?offset=x", "offset"),
        ("/api/events?sort=size", "sort"),
        ("/api/events?sort=--time", "sort"),
        ("/api/events?src=10.0.0.300", "src"),
        ("/api/events?dst=fd00::/200", "dst"),
        ("/api/events?port=70000", "port"),
        ("/api/events?proto=carrier-pigeon", "proto"),
        ("/api/events?severity=extreme", "severity"),
        ("/api/events?type=a%20b", "type"),
        ("/api/threats?from=01/02/2026", "from"),
        ("/api/timeline?to=2026-02-30", "to"),
        ("/api/pivot?kind=port&value=1", "kind"),
        ("/api/pivot?kind=src&value=host", "value"),
        ("/api/pivot?kind=trail", "value"),
        ("/api/live?after=-5", "after"),
        ("/api/live?date=today", "date"),
        ("/api/export.csv?from=x", "from"),
        ("/events?date=2026-01-01_2025-01-01", "date"),
        ("/counts?from=2026-1-1", "from"),
        ("/api/events?q=%zz", "q"),
    ];

    for (path, parameter) in cases {
        let reply = session.get(path);
        let message = reply.error();

        assert_eq!(reply.status, 400, "GET {path}: {}", reply.body);
        assert!(
            message.starts_with(&format!("invalid parameter {parameter}:")),
            "GET {path}: {message}"
        );
    }
}

#[test]
fn unknown_routes_get_404() {
    let viewer = TestViewer::start();
    let session = viewer.login("admin");

    assert_eq!(session.get("/api/nothing").status, 404);
    assert_eq!(get(viewer.addr, "/api/nothing", None).status, 404);
    assert_eq!(session.get("/api/events/..").status, 404);
}

#[test]
fn unknown_parameters_rejected() {
    let viewer = TestViewer::start();
    let session = viewer.login("admin");
    // Each case: the path, the rejected parameter and an accepted one the message lists.
    let cases = [
        ("/api/events?date=2026-01-15", "date", "from"),
        ("/api/events?limit=2&limt=2", "limt", "limit"),
        ("/api/threats?limit=5", "limit", "severity"),
        ("/api/timeline?sort=time", "sort", "to"),
        (
            "/api/pivot?kind=src&value=10.0.0.1&offset=1",
            "offset",
            "kind",
        ),
        ("/api/live?from=2026-01-15", "from", "after"),
        ("/api/export.csv?sort=-time", "sort", "q"),
        ("/api/export.json?limit=1", "limit", "src"),
        ("/api/session?user=admin", "user", "no parameters"),
    ];

    for (path, parameter, accepted) in cases {
        let reply = session.get(path);
        let message = reply.error();

        assert_eq!(reply.status, 400, "GET {path}: {}", reply.body);
        assert!(
            message.starts_with(&format!("invalid parameter {parameter}:")),
            "GET {path}: {message}"
        );
        assert!(message.contains(accepted), "GET {path}: {message}");
    }
}

#[test]
fn every_accepted_parameter_passes() {
    let viewer = TestViewer::start();
    let session = viewer.login("admin");
    let range = "from=2026-01-15&to=2026-01-16";
    let filter = "src=10.0.0.1&dst=10.0.0.2&port=53&proto=udp&type=dns&trail=x&info=y\
                  &severity=high&q=z";
    let paths = [
        format!("/api/events?{range}&{filter}&offset=0&limit=10&sort=-src"),
        format!("/api/threats?{range}&{filter}"),
        format!("/api/timeline?{range}&{filter}"),
        format!("/api/pivot?{range}&{filter}&kind=src&value=10.0.0.1"),
        format!("/api/live?date=2026-01-15&after=0&{filter}"),
        format!("/api/export.csv?{range}&{filter}"),
        format!("/api/export.json?{range}&{filter}"),
        "/events?date=2026-01-15".to_string(),
        format!("/counts?{range}"),
    ];

    for path in paths {
        let reply = session.get(&path);

        assert_eq!(reply.status, 200, "GET {path}: {}", reply.body);
    }
}

#[test]
fn pivot_without_kind_names_it() {
    let viewer = TestViewer::start();
    let session = viewer.login("admin");

    let reply = session.get("/api/pivot?value=10.0.0.1");
    let message = reply.error();

    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(
        message.starts_with("invalid parameter kind: is missing"),
        "{message}"
    );
    assert!(message.contains("src, dst or trail"), "{message}");
}

#[test]
fn wrong_method_gets_405() {
    let viewer = TestViewer::start();
    let session = viewer.login("admin");
    let cookie = format!("tw_session={}", session.token);
    // Each case: method, path and the expected Allow header.
    let cases = [
        ("PUT", "/api/events", "GET, HEAD"),
        ("POST", "/api/export.csv", "GET, HEAD"),
        ("DELETE", "/api/session", "GET, HEAD"),
        ("GET", "/logout", "POST"),
        ("GET", "/login", "POST"),
        ("POST", "/ping", "GET, HEAD"),
        ("POST", "/static/app.js", "GET, HEAD"),
    ];

    for (method, path, allow) in cases {
        let with_session = request(viewer.addr, method, path, &[("Cookie", &cookie)], "");
        let without_session = request(viewer.addr, method, path, &[], "");

        assert_eq!(
            with_session.status, 405,
            "{method} {path}: {}",
            with_session.body
        );
        assert_eq!(with_session.header("allow"), Some(allow), "{method} {path}");
        assert!(
            with_session.error().contains(allow),
            "{method} {path}: {}",
            with_session.body
        );
        assert_eq!(
            without_session.status, 405,
            "{method} {path} without a session"
        );
    }
}

#[test]
fn head_answers_like_get_without_body() {
    let viewer = TestViewer::start();
    let session = viewer.login("admin");
    let cookie = format!("tw_session={}", session.token);

    let ping = request(viewer.addr, "HEAD", "/ping", &[], "");
    assert_eq!(ping.status, 200);
    assert_eq!(ping.body, "", "HEAD /ping sent a body");
    assert_eq!(ping.header("content-length"), Some("4"));

    let login = request(viewer.addr, "HEAD", "/login", &[], "");
    assert_eq!(login.status, 405);
    assert_eq!(login.header("allow"), Some("POST"));

    let events = &format!("/api/events?from={day}&to={day}", day = common::day(0));
    let without_session = request(viewer.addr, "HEAD", events, &[], "");
    assert_eq!(without_session.status, 401);
    assert_eq!(without_session.body, "");

    let with_session = request(viewer.addr, "HEAD", events, &[("Cookie", &cookie)], "");
    assert_eq!(with_session.status, 200);
    assert_eq!(with_session.body, "");
    assert_eq!(
        with_session.header("content-type"),
        Some("application/json")
    );
}
