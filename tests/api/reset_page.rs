//! The built-in `/reset-password` page, driven in a real browser (headless Chromium through
//! ChromeDriver's WebDriver API): the link of the reset email works before a clinic has a
//! front-end of its own.
//!
//! Needs Debian's `chromium` and `chromium-driver`; `.ci/run` installs them and sets
//! `CYBERMED_BROWSER_TESTS=1`, under which a missing browser fails the test instead of skipping it.
use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, email, token_in};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const NEW_PASSWORD: &str = "Browser-Typed-Heron-58";

/// A headless Chromium session, ended (and its driver stopped) when dropped.
struct Browser {
    driver: Child,
    base: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// `None` when the browser is not installed and browser tests are not required.
    async fn start() -> Option<Self> {
        let installed = std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
        if !installed {
            assert!(
                std::env::var_os("CYBERMED_BROWSER_TESTS").is_none(),
                "CYBERMED_BROWSER_TESTS is set but {CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)"
            );
            eprintln!("skipping the browser test: install chromium and chromium-driver to run it");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        // The driver answers /status once it listens.
        let mut ready = false;
        for _ in 0..200 {
            if http.get(format!("{base}/status")).send().await.is_ok_and(|r| r.status().is_success()) {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ready, "chromedriver did not start");
        let profile = tempfile::tempdir().unwrap();
        let mut browser = Self { driver, base, http, _profile: profile };
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", browser._profile.path().display()),
        ];
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args }
        } } });
        let session = browser.call("POST", "/session", caps).await;
        let id = session["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {session}")).to_owned();
        browser.base = format!("{}/session/{id}", browser.base);
        Some(browser)
    }

    /// One WebDriver command; returns its `value`.
    async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let resp: Value = req.send().await.unwrap().json().await.unwrap();
        resp["value"].clone()
    }

    async fn open(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url })).await;
    }

    async fn element(&self, css: &str) -> String {
        let found = self.call("POST", "/element", json!({ "using": "css selector", "value": css })).await;
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{css}: {found}"))
            .to_owned()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let el = self.element(css).await;
        self.call("POST", &format!("/element/{el}/value"), json!({ "text": text })).await;
    }

    async fn click(&self, css: &str) {
        let el = self.element(css).await;
        self.call("POST", &format!("/element/{el}/click"), json!({})).await;
    }

    async fn text(&self, css: &str) -> String {
        let el = self.element(css).await;
        self.call("GET", &format!("/element/{el}/text"), json!({})).await.as_str().unwrap_or_default().to_owned()
    }

    /// The text of `css` once it is not empty (the page answers after a request).
    async fn text_when_shown(&self, css: &str) -> String {
        for _ in 0..200 {
            let text = self.text(css).await;
            if !text.is_empty() {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css} stayed empty");
    }

    async fn location(&self) -> String {
        self.call("GET", "/url", json!({})).await.as_str().unwrap_or_default().to_owned()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The session ends with its driver.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The query string (`email=…&token=…`) of the link in the newest reset email.
async fn link_query(app: &TestApp, address: &str, emails_before: usize) -> String {
    app.gql(None, "mutation($e: String!) { requestPasswordReset(email: $e) { message } }", json!({ "e": address }))
        .await;
    let mail = app.outbox_emails(emails_before + 1).await.pop().unwrap();
    let token = token_in(&mail);
    let link_start = mail.find("http://clinic.test/reset-password?").unwrap_or_else(|| panic!("a link in:\n{mail}"));
    let link = mail[link_start..].split_whitespace().next().unwrap();
    assert!(link.ends_with(&token), "{link}");
    link.split_once('?').unwrap().1.to_owned()
}

#[tokio::test]
async fn the_reset_link_opens_a_page_that_resets_the_password_in_a_browser() {
    let Some(browser) = Browser::start().await else { return };
    let app = TestApp::spawn().await;
    let user = app.register(&email("browser"), "PATIENT").await;

    // A mistyped repetition is caught on the page; a wrong token is the API's own message.
    let query = link_query(&app, &user.email, 0).await;
    browser.open(&app.url(&format!("/reset-password?{query}"))).await;
    assert!(!browser.location().await.contains("token="), "the token is taken out of the address bar");
    browser.type_into("#password", NEW_PASSWORD).await;
    browser.type_into("#confirm", "something-else-1").await;
    browser.click("#submit").await;
    assert_eq!(browser.text_when_shown("#result").await, "The two passwords differ.");

    let forged = query.rsplit_once("token=").map(|(head, _)| format!("{head}token=not-the-token")).unwrap();
    browser.open(&app.url(&format!("/reset-password?{forged}"))).await;
    browser.type_into("#password", NEW_PASSWORD).await;
    browser.type_into("#confirm", NEW_PASSWORD).await;
    browser.click("#submit").await;
    assert_eq!(browser.text_when_shown("#result").await, "Invalid token or expired token.");

    // The real link works.
    browser.open(&app.url(&format!("/reset-password?{query}"))).await;
    browser.type_into("#password", NEW_PASSWORD).await;
    browser.type_into("#confirm", NEW_PASSWORD).await;
    browser.click("#submit").await;
    assert_eq!(browser.text_when_shown("#result").await, "Password reset successfully");
    app.login(&user.email, NEW_PASSWORD).await;
    assert!(app.login_raw(&user.email, PASSWORD).await["errors"].is_array(), "the old password is gone");
}

#[tokio::test]
async fn the_reset_page_is_self_contained_and_locked_down() {
    let app = TestApp::spawn_with(&[("APP_ENV", "production"), ("GRAPHIQL", "false")]).await;
    let resp = app.client.get(app.url("/reset-password?email=a%40b.example&token=t")).send().await.unwrap();
    assert_eq!(resp.status(), 200, "served in production too");
    let headers = resp.headers().clone();
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(headers["referrer-policy"], "no-referrer", "the token never leaves in a Referer");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("connect-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let page = resp.text().await.unwrap();
    for external in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!page.contains(external), "nothing loaded from elsewhere ({external})");
    }
}

#[tokio::test]
async fn password_reset_url_points_the_link_at_a_clinics_own_front_end() {
    let app = TestApp::spawn_with(&[("PASSWORD_RESET_URL", "https://portal.clinic.example/account/reset")]).await;
    let user = app.register(&email("portal"), "PATIENT").await;
    app.gql(None, "mutation($e: String!) { requestPasswordReset(email: $e) { message } }", json!({ "e": user.email }))
        .await;
    let mail = app.outbox_emails(1).await.remove(0);
    let token = token_in(&mail);
    let link =
        format!("https://portal.clinic.example/account/reset?email={}&token={token}", user.email.replace('@', "%40"));
    assert!(mail.contains(&link), "{link} in:\n{mail}");
}
