//! Creating the first user with the one-time setup code, against a real viewer on loopback.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;

use common::{get, login, request, Reply, TestViewer};

const CODE: &str = "9f3a77c20b1d4e56";
const PASSWORD: &str = "first admin pass";

/// Starts a viewer without users whose setup code file contains [`CODE`].
fn start_without_users() -> (TestViewer, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let code_file = dir.path().join("setup-code");
    std::fs::write(&code_file, format!("{CODE}\n")).unwrap();
    let path = code_file.clone();
    let viewer = TestViewer::start_in(dir, move |config| config.setup_code_file = Some(path));
    (viewer, code_file)
}

fn post_setup(addr: SocketAddr, code: &str, user: &str, password: &str, repeat: &str) -> Reply {
    let body = format!(
        "code={code}&username={user}&password={}&repeat={}",
        password.replace(' ', "+"),
        repeat.replace(' ', "+")
    );
    request(
        addr,
        "POST",
        "/setup",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &body,
    )
}

#[test]
fn setup_code_creates_first_admin() {
    let (viewer, code_file) = start_without_users();

    let before = login(viewer.addr, "admin", PASSWORD);
    let page = get(viewer.addr, "/setup", None);
    let created = post_setup(viewer.addr, CODE, "admin", PASSWORD, PASSWORD);
    let after = login(viewer.addr, "admin", PASSWORD);
    let again = post_setup(viewer.addr, CODE, "second", PASSWORD, PASSWORD);
    let page_after = get(viewer.addr, "/setup", None);

    assert_eq!(before.status, 503);
    assert!(before.error().contains("/setup"), "{}", before.body);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("name=\"code\""), "{}", page.body);
    assert_eq!(created.status, 303, "{}", created.body);
    assert_eq!(created.header("location"), Some("/"));
    assert_eq!(after.status, 303, "{}", after.body);
    assert!(!code_file.exists(), "the used code file was not deleted");
    assert_eq!(again.status, 409);
    assert_eq!(page_after.status, 409);
}

#[test]
fn setup_code_match_ignores_case() {
    let (viewer, _code_file) = start_without_users();

    let created = post_setup(
        viewer.addr,
        &CODE.to_ascii_uppercase(),
        "ops",
        PASSWORD,
        PASSWORD,
    );

    assert_eq!(created.status, 303, "{}", created.body);
    assert_eq!(login(viewer.addr, "ops", PASSWORD).status, 303);
}

#[test]
fn setup_rejects_bad_forms() {
    let (viewer, code_file) = start_without_users();

    let wrong_code = post_setup(viewer.addr, "0000000000000000", "admin", PASSWORD, PASSWORD);
    let short = post_setup(viewer.addr, CODE, "admin", "short", "short");
    let differ = post_setup(viewer.addr, CODE, "admin", PASSWORD, "other admin pass");
    let bad_name = post_setup(viewer.addr, CODE, "a%2Fb", PASSWORD, PASSWORD);
    let no_users = login(viewer.addr, "admin", PASSWORD);

    assert_eq!(wrong_code.status, 401);
    assert_eq!(wrong_code.error(), "wrong setup code");
    assert_eq!(short.status, 400);
    assert!(short.error().contains("at least 10"), "{}", short.body);
    assert_eq!(differ.status, 400);
    assert!(differ.error().contains("differ"), "{}", differ.body);
    assert_eq!(bad_name.status, 400);
    assert!(
        bad_name.error().contains("invalid user name"),
        "{}",
        bad_name.body
    );
    assert_eq!(no_users.status, 503);
    assert!(code_file.exists(), "a failed setup deleted the code");
}

#[test]
fn wrong_setup_codes_are_rate_limited() {
    let (viewer, _code_file) = start_without_users();

    let statuses: Vec<u16> = (0..6)
        .map(|_| post_setup(viewer.addr, "0000000000000000", "admin", PASSWORD, PASSWORD).status)
        .collect();
    let right_code_now = post_setup(viewer.addr, CODE, "admin", PASSWORD, PASSWORD);

    assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    assert_eq!(right_code_now.status, 429);
    assert!(right_code_now.header("retry-after").is_some());
}

#[test]
fn setup_off_without_code_file() {
    let viewer = TestViewer::start();

    let page = get(viewer.addr, "/setup", None);
    let post = post_setup(viewer.addr, CODE, "admin", PASSWORD, PASSWORD);

    assert_eq!(page.status, 404);
    assert_eq!(post.status, 404);
}

#[test]
fn missing_code_file_gets_503() {
    let (viewer, code_file) = start_without_users();
    std::fs::remove_file(&code_file).unwrap();

    let reply = post_setup(viewer.addr, CODE, "admin", PASSWORD, PASSWORD);

    assert_eq!(reply.status, 503);
    assert!(reply.error().contains("no setup code"), "{}", reply.body);
}
