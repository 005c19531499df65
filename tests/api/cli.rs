//! The command line: create-admin, migrate, print-schema, production checks.
use std::process::Command;

use serde_json::json;

use crate::helpers::{TestApp, email};

fn cybermed() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cybermed"))
}

#[tokio::test]
async fn create_admin_makes_an_admin_who_can_sign_in() {
    let app = TestApp::spawn().await;
    let address = email("boss");
    let out = cybermed()
        .args(["create-admin", "--email", &address, "--first-name", "Bea", "--last-name", "Boss"])
        .env("DATABASE_URL", &app.database_url)
        .env("CYBERMED_ADMIN_PASSWORD", "Admin-Pass-For-Tests-1")
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let admin = app.login(&address, "Admin-Pass-For-Tests-1").await;
    let body = app.gql(Some(&admin.access), "{ me { role isStaff isSuperuser } }", json!({})).await;
    assert_eq!(body["data"]["me"], json!({ "role": "ADMIN", "isStaff": true, "isSuperuser": true }));
}

#[tokio::test]
async fn create_admin_refuses_a_weak_password() {
    let app = TestApp::spawn().await;
    let out = cybermed()
        .args(["create-admin", "--email", "weak@example.com", "--first-name", "W", "--last-name", "K"])
        .env("DATABASE_URL", &app.database_url)
        .env("CYBERMED_ADMIN_PASSWORD", "password")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("password"));
}

#[test]
fn production_refuses_to_start_without_a_strong_jwt_secret() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("p.db").display());
    for secret in ["", "too-short"] {
        let out = cybermed()
            .arg("serve")
            .env("APP_ENV", "production")
            .env("JWT_SECRET", secret)
            .env("DATABASE_URL", &db)
            .env("BIND_ADDR", "127.0.0.1:0")
            .output()
            .unwrap();
        assert!(!out.status.success(), "must not start with JWT_SECRET={secret:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("JWT_SECRET"));
    }
}

#[test]
fn migrate_creates_the_sqlite_file_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    let out = cybermed()
        .arg("migrate")
        .env("DATABASE_URL", format!("sqlite://{}?mode=rwc", path.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(path.exists());
}

#[test]
fn print_schema_prints_the_sdl() {
    let out = cybermed().arg("print-schema").output().unwrap();
    assert!(out.status.success());
    let sdl = String::from_utf8(out.stdout).unwrap();
    assert!(sdl.contains("type Query") && sdl.contains("register(input: RegisterInput!): AuthPayload!"));
}

#[tokio::test]
async fn seed_demo_fills_an_empty_database_and_prints_working_logins() {
    let app = TestApp::spawn().await;
    let out =
        cybermed().arg("seed-demo").env("DATABASE_URL", &app.database_url).env("RUST_LOG", "warn").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let logins: Vec<(&str, &str, &str)> = text
        .lines()
        .map(|l| {
            let mut parts = l.split(' ');
            (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap())
        })
        .collect();
    for role in ["ADMIN", "DOCTOR", "PATIENT"] {
        assert!(logins.iter().any(|l| l.0 == role), "a {role} login in:\n{text}");
    }
    let mut zones = std::collections::HashSet::new();
    for (role, email, password) in &logins {
        let s = app.login(email, password).await;
        let me = app
            .gql(
                Some(&s.access),
                "{ me { role doctorProfile { verified timeZone availability { weekday } } } }",
                json!({}),
            )
            .await;
        assert_eq!(me["data"]["me"]["role"], *role);
        if *role == "DOCTOR" {
            let p = &me["data"]["me"]["doctorProfile"];
            assert_eq!(p["verified"], true);
            assert!(!p["availability"].as_array().unwrap().is_empty());
            zones.insert(p["timeZone"].as_str().unwrap().to_owned());
        }
    }
    assert!(zones.len() >= 2, "doctors in two time zones: {zones:?}");

    let admin = logins.iter().find(|l| l.0 == "ADMIN").unwrap();
    let admin = app.login(admin.1, admin.2).await;
    let list = app
        .gql(Some(&admin.access), "{ appointments(first: 100) { edges { node { status occurrence } } } }", json!({}))
        .await;
    let statuses: std::collections::HashSet<&str> = list["data"]["appointments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["status"].as_str().unwrap())
        .collect();
    for s in ["PENDING", "CONFIRMED", "CANCELLED", "COMPLETED", "NO_SHOW"] {
        assert!(statuses.contains(s), "{s} in {statuses:?}");
    }
    let occurrences = list["data"]["appointments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["node"]["occurrence"].is_null())
        .count();
    assert_eq!(occurrences, 6, "one weekly series of six");
    let line = app
        .gql(Some(&admin.access), "{ waitlist(status: [WAITING]) { totalCount nodes { patient { id } } } }", json!({}))
        .await;
    assert_eq!(line["data"]["waitlist"]["totalCount"], 2, "two patients waiting: {line}");
    let nodes = line["data"]["waitlist"]["nodes"].as_array().unwrap();
    assert_ne!(nodes[0]["patient"]["id"], nodes[1]["patient"]["id"], "two patients: {line}");

    // Its people are fictional: nothing was written to the outbox for them, so no later `serve`
    // sends them notifications or reminders.
    let outbox = admin_outbox_total(&app, &admin.access).await;
    assert_eq!(outbox, 0, "seed-demo wrote {outbox} emails");

    let again =
        cybermed().arg("seed-demo").env("DATABASE_URL", &app.database_url).env("RUST_LOG", "warn").output().unwrap();
    assert!(!again.status.success(), "a second run must refuse a non-empty database");

    // GraphiQL's first tab is prefilled with one of these logins, and with no other.
    let page = app.client.get(app.url("/graphiql")).send().await.unwrap().text().await.unwrap();
    let emails_on_page: std::collections::HashSet<&str> =
        page.split(|c: char| !(c.is_ascii_alphanumeric() || "@.-_".contains(c))).filter(|w| w.contains('@')).collect();
    assert!(!emails_on_page.is_empty(), "GraphiQL names a seed-demo login");
    for email in &emails_on_page {
        let login = logins.iter().find(|l| l.1 == *email);
        let login = login.unwrap_or_else(|| panic!("GraphiQL names {email}, which seed-demo does not create"));
        app.login(login.1, login.2).await;
    }
}

#[test]
fn seed_demo_prints_only_logins_on_stdout_and_its_logs_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let out = cybermed()
        .arg("seed-demo")
        .env("DATABASE_URL", format!("sqlite://{}?mode=rwc", dir.path().join("demo.db").display()))
        .env("MAIL_OUTBOX_DIR", dir.path().join("outbox"))
        .env("RUST_LOG", "info")
        .env_remove("LOG_FORMAT")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap());
    assert!(out.status.success(), "{stderr}");

    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.len() >= 3, "{stdout}");
    for line in &lines {
        let parts: Vec<&str> = line.split(' ').collect();
        let [role, email, password] = parts[..] else { panic!("not `<ROLE> <email> <password>`: {line:?}") };
        assert!(["DOCTOR", "PATIENT", "ADMIN"].contains(&role), "{line:?}");
        let (user, domain) = email.split_once('@').unwrap_or_else(|| panic!("not an email: {line:?}"));
        assert!(!user.is_empty() && !domain.is_empty() && !domain.contains('@'), "{line:?}");
        assert!(!password.is_empty() && !password.chars().any(char::is_whitespace), "{line:?}");
    }
    assert!(stderr.contains("Applying migration"), "the migration logs go to stderr: {stderr}");
    assert!(!stderr.contains('\u{1b}'), "no colours when stderr is not a terminal: {stderr:?}");
}

#[tokio::test]
async fn four_migrations_started_at_once_on_an_empty_database_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let database = crate::helpers::fresh_database(&dir).await;
    let url = database.url.clone();
    let children: Vec<_> = (0..4)
        .map(|_| {
            cybermed()
                .arg("migrate")
                .env("DATABASE_URL", &url)
                .env("RUST_LOG", "warn")
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    // Every migration ran exactly once.
    use sea_orm::ConnectionTrait;
    let db = sea_orm::Database::connect(url.as_str()).await.unwrap();
    let applied = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n, COUNT(DISTINCT version) AS d FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .unwrap();
    let (n, d): (i64, i64) = (applied.try_get("", "n").unwrap(), applied.try_get("", "d").unwrap());
    assert!(n > 0);
    assert_eq!(n, d);
}

async fn admin_outbox_total(app: &TestApp, admin: &str) -> i64 {
    let body = app.gql(Some(admin), "{ outbox(first: 1) { totalCount } }", json!({})).await;
    body["data"]["outbox"]["totalCount"].as_i64().unwrap_or_else(|| panic!("outbox: {body}"))
}

/// The variables `.env.example` sets, so that a child reads them from `.env` and not from the test's
/// own environment (dotenvy never overrides a variable that is set).
fn env_example_keys() -> Vec<String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example")).unwrap();
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, _)| k.trim().to_owned())
        .collect()
}

#[test]
fn env_example_copied_to_dot_env_works_for_the_binary_and_for_a_posix_shell() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/.env.example"), dir.path().join(".env")).unwrap();
    let mut migrate = cybermed();
    migrate.arg("migrate").current_dir(dir.path());
    for key in env_example_keys() {
        migrate.env_remove(key);
    }
    let out = migrate.output().unwrap();
    assert!(
        out.status.success(),
        "cybermed migrate with .env.example as .env: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("cybermed.db").exists(), "the .env's DATABASE_URL was used");

    let out = Command::new("sh")
        .args(["-c", "set -a; . ./.env; printf '%s' \"$MAIL_FROM\""])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "set -a; . ./.env: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "CyberMed <no-reply@localhost>");
}

#[test]
fn a_sqlite_file_that_cannot_be_opened_is_named_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-folder").join("clinic.db");
    let started = std::time::Instant::now();
    let out = cybermed()
        .arg("migrate")
        .env("DATABASE_URL", format!("sqlite://{}?mode=rwc", path.display()))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(stderr.contains(&path.display().to_string()), "names the file: {stderr}");
    assert!(stderr.contains("unable to open"), "says why: {stderr}");
}

#[test]
fn an_unreachable_postgresql_is_named_by_host_and_port_without_the_password() {
    // A port nothing listens on: refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    for command in ["migrate", "serve"] {
        let started = std::time::Instant::now();
        let out = cybermed()
            .arg(command)
            .env("DATABASE_URL", format!("postgres://clinic:s3cret-pw@127.0.0.1:{port}/clinicdb"))
            .env("BIND_ADDR", "127.0.0.1:0")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{command}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{command} gave up within 10 s");
        assert!(stderr.contains(&format!("127.0.0.1:{port}")) && stderr.contains("clinicdb"), "{command}: {stderr}");
        assert!(!stderr.contains("s3cret-pw"), "{command} printed the password: {stderr}");
    }
}

#[tokio::test]
async fn create_admin_does_not_echo_a_password_typed_at_a_terminal() {
    // `script` runs the command on a pseudo-terminal; what the terminal echoes lands in its output.
    let app = TestApp::spawn().await;
    let address = email("quiet");
    let password = "Typed-At-The-Prompt-77";
    let command =
        format!("{} create-admin --email {address} --first-name Q --last-name Admin", env!("CARGO_BIN_EXE_cybermed"));
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("DATABASE_URL", &app.database_url)
        .env("RUST_LOG", "warn")
        .env_remove("CYBERMED_ADMIN_PASSWORD")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) runs a command on a pseudo-terminal");
    // Typed once the prompt is up (a pseudo-terminal echoes what arrives before the prompt turned
    // echo off, as a real terminal would).
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("Password for") {
        use std::io::Read;
        let mut chunk = [0u8; 256];
        let n = stdout.read(&mut chunk).unwrap();
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&chunk[..n]);
    }
    // The prompt is written just before echo is turned off (rpassword), as with every such prompt;
    // pexpect waits 50 ms before it sends for that reason, and no person types faster.
    std::thread::sleep(std::time::Duration::from_millis(300));
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(format!("{password}\n").as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    {
        use std::io::Read;
        stdout.read_to_end(&mut seen).unwrap();
    }
    let shown = format!("{}{}", String::from_utf8_lossy(&seen), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{shown}");
    assert!(!shown.contains(password), "the password was echoed: {shown}");
    app.login(&address, password).await;
}
