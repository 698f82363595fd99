//! Logins, sessions, CSRF and rate limiting against a real viewer on loopback.

mod common;

use std::time::{Duration, Instant};

use common::{get, login, request, TestViewer, PASSWORD};

const DATA_PATHS: [&str; 11] = [
    "/api/session",
    "/api/events",
    "/api/threats",
    "/api/timeline",
    "/api/pivot?kind=src&value=10.0.0.1",
    "/api/live",
    "/api/export.csv",
    "/api/export.json",
    "/events",
    "/counts",
    "/api/events?from=bad",
];

#[test]
fn data_endpoints_need_session() {
    let viewer = TestViewer::start();

    for path in DATA_PATHS {
        let without = get(viewer.addr, path, None);
        let forged = get(viewer.addr, path, Some(&"0".repeat(64)));

        assert_eq!(without.status, 401, "GET {path} without a session");
        assert_eq!(forged.status, 401, "GET {path} with a forged session");
    }
}

#[test]
fn login_sets_strict_cookie() {
    let viewer = TestViewer::start();
    let reply = login(viewer.addr, "admin", PASSWORD);
    let cookie = reply.header("set-cookie").unwrap();
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("tw_session=");

    assert_eq!(reply.status, 303);
    assert_eq!(reply.header("location"), Some("/"));
    assert_eq!(token.len(), 64);
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()), "{token}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
}

#[test]
fn session_endpoint_describes_user() {
    let viewer = TestViewer::start();
    let reader = viewer.login("reader");
    let admin = viewer.login("admin");

    let reader_info = reader.json("/api/session");
    let admin_info = admin.json("/api/session");

    assert_eq!(reader_info["user"], "reader");
    assert_eq!(reader_info["read_only"], true);
    assert_eq!(admin_info["read_only"], false);
    assert_ne!(reader_info["csrf"], admin_info["csrf"]);
}

#[test]
fn wrong_password_and_unknown_user_fail() {
    let viewer = TestViewer::start();

    let wrong = login(viewer.addr, "admin", "guess");
    let unknown = login(viewer.addr, "nobody", PASSWORD);

    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert!(wrong.header("set-cookie").is_none());
}

#[test]
fn logout_needs_csrf_and_ends_session() {
    let viewer = TestViewer::start();
    let session = viewer.login("admin");
    let cookie = format!("tw_session={}", session.token);

    let missing = request(viewer.addr, "POST", "/logout", &[("Cookie", &cookie)], "");
    let wrong = request(
        viewer.addr,
        "POST",
        "/logout",
        &[("Cookie", &cookie), ("X-CSRF-Token", &"f".repeat(64))],
        "",
    );
    let still_valid = session.get("/api/session").status;
    let right = request(
        viewer.addr,
        "POST",
        "/logout",
        &[("Cookie", &cookie), ("X-CSRF-Token", &session.csrf)],
        "",
    );

    assert_eq!(missing.status, 403);
    assert_eq!(wrong.status, 403);
    assert_eq!(still_valid, 200);
    assert_eq!(right.status, 200);
    assert!(right.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(session.get("/api/session").status, 401);
}

#[test]
fn csrf_token_of_other_session_rejected() {
    let viewer = TestViewer::start();
    let first = viewer.login("admin");
    let second = viewer.login("admin");
    let cookie = format!("tw_session={}", first.token);

    let crossed = request(
        viewer.addr,
        "POST",
        "/logout",
        &[("Cookie", &cookie), ("X-CSRF-Token", &second.csrf)],
        "",
    );

    assert_eq!(crossed.status, 403);
}

#[test]
fn session_expires_after_lifetime() {
    let viewer = TestViewer::start_with(|config| {
        config.session_lifetime = Duration::from_millis(300);
    });
    let session = viewer.login("admin");
    let deadline = Instant::now() + Duration::from_secs(30);

    let mut status = session.get("/api/session").status;
    while status == 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        status = session.get("/api/session").status;
    }

    assert_eq!(status, 401);
}

#[test]
fn rate_limit_after_five_failures() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        println!("skipped: no IPv6 loopback to act as a second client address");
        return;
    }
    let viewer = TestViewer::start_with(|config| {
        config.listen.push("[::1]:0".parse().unwrap());
    });
    for attempt in 0..5 {
        assert_eq!(
            login(viewer.addr, "admin", "guess").status,
            401,
            "attempt {attempt}"
        );
    }

    let blocked = login(viewer.addr, "admin", PASSWORD);

    assert_eq!(blocked.status, 429);
    assert!(blocked.header("retry-after").is_some());
    // The IPv6 loopback is another client address, which the limit must not block.
    let other_client = login(viewer.addrs[1], "admin", PASSWORD);
    assert_eq!(other_client.status, 303);
}

#[test]
fn rate_limit_holds_for_parallel_logins() {
    let viewer = TestViewer::start();
    let addr = viewer.addr;

    // All requests start together, so most of them arrive while others still verify.
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(20));
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                login(addr, "admin", "guess").status
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let checked = statuses.iter().filter(|&&status| status == 401).count();
    let limited = statuses.iter().filter(|&&status| status == 429).count();

    // Every reserved attempt ends as a failure, so exactly five passwords are checked.
    assert_eq!(checked, 5, "passwords checked: {statuses:?}");
    assert_eq!(checked + limited, 20, "{statuses:?}");
    assert_eq!(login(addr, "admin", PASSWORD).status, 429);
}

#[test]
fn no_users_gives_503_with_command() {
    let dir = tempfile::tempdir().unwrap();
    let viewer = TestViewer::start_in(dir, |_| {});

    let reply = login(viewer.addr, "admin", PASSWORD);
    let page = get(viewer.addr, "/", None);
    let ping = get(viewer.addr, "/ping", None);

    assert_eq!(reply.status, 503);
    assert!(
        reply.error().contains("trailwatch-viewer user add"),
        "{}",
        reply.body
    );
    assert_eq!(page.status, 200);
    assert_eq!(ping.body, "pong");
}

#[test]
fn removed_user_loses_session() {
    let viewer = TestViewer::start();
    let session = viewer.login("reader");
    let users_file = viewer.dir.path().join("users.toml");
    let mut store = trailwatch_viewer::users::UserStore::load(&users_file).unwrap();
    store.remove("reader");
    // Removing a user shrinks the file, so the reload does not depend on timestamp resolution.
    store.save(&users_file).unwrap();

    assert_eq!(session.get("/api/session").status, 401);
}

#[test]
fn login_rejects_other_content_type() {
    let viewer = TestViewer::start();
    let reply = request(
        viewer.addr,
        "POST",
        "/login",
        &[("Content-Type", "application/json")],
        "{\"username\":\"admin\"}",
    );

    assert_eq!(reply.status, 400);
    assert!(reply.error().contains("Content-Type"), "{}", reply.body);
}

#[test]
fn read_only_user_may_log_out() {
    let viewer = TestViewer::start();
    let session = viewer.login("reader");
    let cookie = format!("tw_session={}", session.token);

    let events = session.get("/api/events");
    let logout = request(
        viewer.addr,
        "POST",
        "/logout",
        &[("Cookie", &cookie), ("X-CSRF-Token", &session.csrf)],
        "",
    );

    assert_eq!(events.status, 200);
    assert_eq!(logout.status, 200);
    assert_eq!(session.get("/api/session").status, 401);
}
