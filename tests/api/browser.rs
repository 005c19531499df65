//! Headless Chromium driven through ChromeDriver's WebDriver API, for the pages the service serves
//! to people (the reset page, GraphiQL).
//!
//! Needs Debian's `chromium` and `chromium-driver`; `.ci/run` installs them and sets
//! `CYBERMED_REQUIRE_TOOLS=1`, under which a missing browser fails a test instead of skipping it.
use std::{
    os::unix::process::CommandExt,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A headless Chromium session, ended (and its driver stopped) when dropped.
pub struct Browser {
    driver: Child,
    base: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// `None` when the browser is not installed and browser tests are not required.
    pub async fn start() -> Option<Self> {
        let installed = std::path::Path::new(CHROMIUM).exists() && std::path::Path::new(CHROMEDRIVER).exists();
        if !installed {
            assert!(
                std::env::var_os("CYBERMED_REQUIRE_TOOLS").is_none(),
                "CYBERMED_REQUIRE_TOOLS is set but {CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)"
            );
            eprintln!("skipping the browser test: install chromium and chromium-driver to run it");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // Its own process group, which the browsers it starts join: killed as one when dropped.
        let driver = Command::new(CHROMEDRIVER)
            .process_group(0)
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
    pub async fn call(&self, method: &str, path: &str, body: Value) -> Value {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let resp: Value = req.send().await.unwrap().json().await.unwrap();
        resp["value"].clone()
    }

    pub async fn open(&self, url: &str) {
        self.call("POST", "/url", json!({ "url": url })).await;
    }

    pub async fn element(&self, css: &str) -> String {
        let found = self.call("POST", "/element", json!({ "using": "css selector", "value": css })).await;
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{css}: {found}"))
            .to_owned()
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.element(css).await;
        self.call("POST", &format!("/element/{el}/value"), json!({ "text": text })).await;
    }

    pub async fn click(&self, css: &str) {
        let el = self.element(css).await;
        self.call("POST", &format!("/element/{el}/click"), json!({})).await;
    }

    pub async fn text(&self, css: &str) -> String {
        let el = self.element(css).await;
        self.call("GET", &format!("/element/{el}/text"), json!({})).await.as_str().unwrap_or_default().to_owned()
    }

    /// The text of `css` once it is not empty (the page answers after a request).
    pub async fn text_when_shown(&self, css: &str) -> String {
        for _ in 0..200 {
            let text = self.text(css).await;
            if !text.is_empty() {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css} stayed empty");
    }

    /// Runs `script` (a function body) in the page; returns what it returns.
    pub async fn run(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", json!({ "script": script, "args": [] })).await
    }

    /// Waits until `script` returns true.
    pub async fn wait_for(&self, what: &str, script: &str) {
        for _ in 0..300 {
            if self.run(script).await == Value::Bool(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{what}: not within 15 s");
    }

    pub async fn location(&self) -> String {
        self.call("GET", "/url", json!({})).await.as_str().unwrap_or_default().to_owned()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The driver and the Chromium processes it started (killing the driver alone left the
        // browsers running, adopted by init, after every test).
        let _ = Command::new("kill").arg("-KILL").arg("--").arg(format!("-{}", self.driver.id())).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
