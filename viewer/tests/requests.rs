//! Parameter checks, path traversal and response headers against a real viewer.

mod common;

use common::{get, TestViewer};

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
