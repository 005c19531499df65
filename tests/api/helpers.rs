//! `TestApp`: a real server on port 0 with its own database, and small GraphQL helpers.
use std::{collections::HashMap, path::PathBuf, time::Duration};

use cybermed::{
    app::{AppState, Application},
    config::Config,
    domain::accounts,
};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const PASSWORD: &str = "Tr1cky-Kestrel-42";

/// A running server with its own fresh database and mail outbox.
pub struct TestApp {
    pub address: String,
    /// `/metrics`'s port, when spawned with `METRICS_BIND_ADDR`.
    pub metrics_port: Option<u16>,
    pub client: reqwest::Client,
    pub state: AppState,
    pub database_url: String,
    pub outbox: PathBuf,
    /// The `file` SMS transport's folder.
    pub sms_outbox: PathBuf,
    _dir: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// The database this server made (none when it was given one): dropped with the server, last.
    _database: TestDatabase,
}

/// What a stopped server hands over so that another one can be started on its data: the folder
/// (its SQLite database) and its PostgreSQL database, both removed when this is dropped. Keep it
/// alive while the next server runs.
pub struct Stopped {
    _dir: tempfile::TempDir,
    _database: TestDatabase,
}

/// A signed-in user.
pub struct Session {
    pub id: String,
    pub email: String,
    pub access: String,
    pub refresh: String,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(&[]).await
    }

    /// Spawns with extra environment settings (`KEY`, value).
    pub async fn spawn_with(settings: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // A server given another's database (a replica, a restart) makes none of its own.
        let database = match settings.iter().find(|(k, _)| *k == "DATABASE_URL") {
            Some((_, url)) => TestDatabase::borrowed(url),
            None => fresh_database(&dir).await,
        };
        let database_url = database.url.clone();
        let outbox = dir.path().join("outbox");
        let sms_outbox = dir.path().join("sms-outbox");
        let mut env: HashMap<String, String> = HashMap::from([
            ("DATABASE_URL".into(), database_url.clone()),
            ("DATABASE_MAX_CONNECTIONS".into(), "8".into()),
            ("BIND_ADDR".into(), "127.0.0.1:0".into()),
            ("JWT_SECRET".into(), "test-secret-test-secret-test-secret-0123".into()),
            ("MAIL_OUTBOX_DIR".into(), outbox.display().to_string()),
            ("SMS_OUTBOX_DIR".into(), sms_outbox.display().to_string()),
            // No quiet hours unless a test sets them: an SMS test must not depend on the hour.
            ("SMS_QUIET_HOURS".into(), String::new()),
            ("PUBLIC_URL".into(), "http://clinic.test".into()),
            // The suite registers many users from one address and books many appointments per
            // patient: the defaults (20 sign-ups an hour, 60/30 upcoming) are tested on their own,
            // with a test that sets them low (`spawn_with`).
            ("REGISTER_MAX_PER_HOUR".into(), "1000000".into()),
            ("MAX_UPCOMING_PER_PATIENT".into(), "1000000".into()),
            ("MAX_UPCOMING_PER_DOCTOR_PAIR".into(), "1000000".into()),
        ]);
        for (k, v) in settings {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        let config = Config::from_lookup(|k| env.get(k).cloned()).unwrap();
        let app = Application::build(config).await.unwrap();
        let address = format!("http://127.0.0.1:{}", app.port());
        let metrics_port = app.metrics_port();
        let state = app.state().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Self {
            address,
            metrics_port,
            client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
            state,
            database_url,
            outbox,
            sms_outbox,
            _dir: dir,
            _stop: stop,
            server,
            _database: database,
        }
    }

    /// Stops the server (its background work finishes as on SIGTERM) and hands over its folder
    /// and database, so that another server can be started on them (`DATABASE_URL`).
    pub async fn stop(self) -> Stopped {
        let Self { _dir, _stop, server, _database, .. } = self;
        drop(_stop);
        // Served until the end: the sender finished what it had in hand.
        server.await.unwrap().unwrap();
        Stopped { _dir, _database }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// POSTs one GraphQL operation; returns the response body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        self.gql_body(token, &json!({ "query": query, "variables": variables })).await
    }

    /// POSTs a GraphQL request body as given (e.g. with an `operationName`); returns the response body.
    pub async fn gql_body(&self, token: Option<&str>, body: &Value) -> Value {
        let mut req = self.client.post(self.url("/graphql")).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200, "GraphQL POST should answer 200");
        resp.json().await.unwrap()
    }

    /// Registers a user of `role` ("PATIENT", "DOCTOR") with `PASSWORD`; panics on failure.
    pub async fn register(&self, email: &str, role: &str) -> Session {
        let body = self
            .gql(
                None,
                "mutation($i: RegisterInput!) { register(input: $i) { accessToken refreshToken user { id email } } }",
                json!({ "i": { "email": email, "password": PASSWORD, "firstName": "Test", "lastName": "User", "role": role } }),
            )
            .await;
        session_from(&body, "register")
    }

    /// Creates an admin through the domain (as the CLI does) and signs it in.
    pub async fn admin(&self, email: &str) -> Session {
        accounts::create_admin(
            &self.state.store,
            &self.state.passwords,
            &self.state.sessions,
            email,
            "Ada",
            "Admin",
            PASSWORD.to_owned(),
        )
        .await
        .ok()
        .unwrap();
        self.login(email, PASSWORD).await
    }

    /// Signs in; panics on failure.
    pub async fn login(&self, email: &str, password: &str) -> Session {
        let body = self.login_raw(email, password).await;
        session_from(&body, "login")
    }

    pub async fn login_raw(&self, email: &str, password: &str) -> Value {
        self.gql(
            None,
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken user { id email } } }",
            json!({ "e": email, "p": password }),
        )
        .await
    }

    /// `me { id }` with a token: the id, or the error code.
    pub async fn me(&self, token: &str) -> Result<String, String> {
        let body = self.gql(Some(token), "{ me { id } }", json!({})).await;
        match body["data"]["me"]["id"].as_str() {
            Some(id) => Ok(id.to_owned()),
            None => Err(code(&body).unwrap_or("none").to_owned()),
        }
    }

    /// Email files in the outbox, oldest first, waiting up to 5 s for at least `n`.
    pub async fn outbox_emails(&self, n: usize) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            // The emails (`*.eml`), not a file still being written (`.<id>.eml.part`).
            let mut files: Vec<_> = std::fs::read_dir(&self.outbox)
                .map(|d| {
                    d.filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                        .collect()
                })
                .unwrap_or_default();
            files.sort();
            if files.len() >= n || tokio::time::Instant::now() > deadline {
                return files.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Runs raw SQL against the app's database (for assertions only).
    pub async fn count_rows(&self, table: &str) -> i64 {
        let backend = self.state.db.get_database_backend();
        let row = self
            .state
            .db
            .query_one_raw(sea_orm::Statement::from_string(backend, format!("SELECT COUNT(*) AS n FROM {table}")))
            .await
            .unwrap()
            .unwrap();
        row.try_get::<i64>("", "n").unwrap()
    }
}

fn session_from(body: &Value, field: &str) -> Session {
    let p = &body["data"][field];
    assert!(p.is_object(), "{field} failed: {body}");
    Session {
        id: p["user"]["id"].as_str().unwrap().to_owned(),
        email: p["user"]["email"].as_str().unwrap().to_owned(),
        access: p["accessToken"].as_str().unwrap().to_owned(),
        refresh: p["refreshToken"].as_str().unwrap().to_owned(),
    }
}

/// The first error's `extensions.code`.
pub fn code(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["code"].as_str()
}

/// The first error's `extensions.field`.
pub fn field(body: &Value) -> Option<&str> {
    body["errors"][0]["extensions"]["field"].as_str()
}

/// The first error's message.
pub fn message(body: &Value) -> &str {
    body["errors"][0]["message"].as_str().unwrap_or_default()
}

/// A unique email for this test.
pub fn email(prefix: &str) -> String {
    format!("{prefix}.{}@example.com", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// Whether the suite runs on PostgreSQL (`TEST_DATABASE_URL` set), else on SQLite.
pub fn on_postgres() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty())
}

/// Whether a test that applies to PostgreSQL only should run; on SQLite it says so on stderr,
/// `skipping: <test>: <reason>`. The test harness has no skip decided at run time: the test then
/// counts as passed, and this line (seen with `--nocapture`) says that it checked nothing.
#[must_use]
pub fn postgres_only(reason: &str) -> bool {
    on_postgres() || skipped(reason)
}

/// As [`postgres_only`], for a test that applies to SQLite only.
#[must_use]
pub fn sqlite_only(reason: &str) -> bool {
    !on_postgres() || skipped(reason)
}

fn skipped(reason: &str) -> bool {
    let thread = std::thread::current();
    eprintln!("skipping: {}: {reason}", thread.name().unwrap_or("this test"));
    false
}

/// A fresh database: a SQLite file in `dir`, or a new PostgreSQL database next to
/// `TEST_DATABASE_URL` when that is set, dropped when the returned guard is (keep it alive as long
/// as anything uses the database).
pub async fn fresh_database(dir: &tempfile::TempDir) -> TestDatabase {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            // The process id in the name tells one run's databases from another's (and finds
            // what a killed run left).
            let name = format!("{TEST_DATABASE_PREFIX}{}_{}", std::process::id(), uuid::Uuid::new_v4().simple());
            let admin = sea_orm::Database::connect(admin_url.as_str()).await.unwrap();
            admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
            admin.close().await.unwrap();
            let (base, query) = admin_url.split_once('?').map_or((admin_url.as_str(), None), |(b, q)| (b, Some(q)));
            let scheme_end = base.find("://").map_or(0, |i| i + 3);
            let base = match base[scheme_end..].find('/') {
                Some(i) => &base[..scheme_end + i],
                None => base,
            };
            let url = match query {
                Some(q) => format!("{base}/{name}?{q}"),
                None => format!("{base}/{name}"),
            };
            TestDatabase { url, owned: Some((admin_url, name)) }
        }
        _ => TestDatabase::borrowed(&format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display())),
    }
}

/// How the suite's PostgreSQL databases are named: `cybermed_test_<process id>_<uuid>`.
pub const TEST_DATABASE_PREFIX: &str = "cybermed_test_";

/// A test's database: its URL and, for a PostgreSQL database the test made, what drops it.
pub struct TestDatabase {
    pub url: String,
    /// The admin URL and the database's name.
    owned: Option<(String, String)>,
}

impl TestDatabase {
    /// A database this guard does not drop (a SQLite file goes with its folder; a URL given to
    /// a replica belongs to the server that made it).
    pub fn borrowed(url: &str) -> Self {
        Self { url: url.to_owned(), owned: None }
    }
}

impl Drop for TestDatabase {
    /// `DROP DATABASE … WITH (FORCE)` (PostgreSQL 13+), which also ends the connections a server
    /// that is not stopped yet still holds. Runs on a thread of its own with its own runtime: a
    /// drop cannot wait on the test's runtime (which may be the one calling it). A failure is
    /// reported, not raised (a panic here while a failed test unwinds would abort the run).
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.owned.take() else { return };
        let dropped = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
            runtime.block_on(async {
                let admin = sea_orm::Database::connect(admin_url.as_str()).await.map_err(|e| e.to_string())?;
                let done = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                admin.close().await.ok();
                done.map(drop).map_err(|e| format!("DROP DATABASE {name}: {e}"))
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("warning: test database left behind: {e}"),
            Err(_) => eprintln!("warning: test database left behind: the thread dropping it panicked"),
        }
    }
}

/// A minimal SMTP server that accepts every message and hands over its raw text.
pub struct SmtpReceiver {
    pub port: u16,
    pub messages: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl SmtpReceiver {
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// A port nothing listens on (yet): a mail server that is down.
    pub async fn free_port() -> u16 {
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port()
    }

    /// Starts on `port` (0: any free port).
    pub async fn start_on(port: u16) -> Self {
        use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    write.write_all(b"220 test.local ESMTP\r\n").await.ok()?;
                    let mut data: Option<String> = None;
                    while let Ok(Some(line)) = lines.next_line().await {
                        if let Some(buf) = data.as_mut() {
                            if line == "." {
                                tx.send(data.take().unwrap_or_default()).ok()?;
                                write.write_all(b"250 2.0.0 queued\r\n").await.ok()?;
                            } else {
                                buf.push_str(line.strip_prefix('.').unwrap_or(&line));
                                buf.push('\n');
                            }
                            continue;
                        }
                        let verb = line.get(..4).unwrap_or(&line).to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" => b"250-test.local\r\n250 8BITMIME\r\n",
                            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.0.0 ok\r\n",
                            "DATA" => {
                                data = Some(String::new());
                                b"354 end with .\r\n"
                            }
                            "QUIT" => {
                                write.write_all(b"221 bye\r\n").await.ok()?;
                                return Some(());
                            }
                            _ => b"502 5.5.2 not implemented\r\n",
                        };
                        write.write_all(reply).await.ok()?;
                    }
                    Some(())
                });
            }
        });
        Self { port, messages: rx }
    }
}

/// The `Token: …` line of a reset email.
pub fn token_in(email: &str) -> String {
    email
        .lines()
        .find_map(|l| l.trim().strip_prefix("Token: "))
        .map(|t| t.trim().to_owned())
        .unwrap_or_else(|| panic!("no token line in email:\n{email}"))
}

impl TestApp {
    /// Registers a doctor with a profile in `time_zone` and `slot_minutes`, verified by `admin`
    /// when given.
    pub async fn doctor(
        &self,
        specialty: &str,
        time_zone: &str,
        slot_minutes: i32,
        verify_by: Option<&Session>,
    ) -> Session {
        let doctor = self.register(&email("doc"), "DOCTOR").await;
        let body = self
            .gql(
                Some(&doctor.access),
                "mutation($i: DoctorProfileInput!) { upsertDoctorProfile(input: $i) { specialty } }",
                json!({ "i": { "specialty": specialty, "experienceYears": 10, "timeZone": time_zone, "slotMinutes": slot_minutes } }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        if let Some(admin) = verify_by {
            let body = self
                .gql(
                    Some(&admin.access),
                    "mutation($id: UUID!) { verifyDoctor(id: $id, verified: true) { id } }",
                    json!({ "id": doctor.id }),
                )
                .await;
            assert!(body["errors"].is_null(), "{body}");
        }
        doctor
    }

    /// Replaces a doctor's weekly availability; panics on failure.
    pub async fn set_rules(&self, doctor: &Session, rules: Value) {
        let body = self
            .gql(
                Some(&doctor.access),
                "mutation($r: [AvailabilityRuleInput!]!) { setAvailability(rules: $r) { weekday } }",
                json!({ "r": rules }),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
    }

    /// A patient with a patient profile.
    pub async fn patient(&self) -> Session {
        let patient = self.register(&email("pat"), "PATIENT").await;
        let body = self
            .gql(
                Some(&patient.access),
                "mutation { upsertPatientProfile(input: { dateOfBirth: \"1990-04-01\", emergencyContactName: \"Kim\", emergencyContactPhone: \"+1 555 0100\" }) { dateOfBirth } }",
                json!({}),
            )
            .await;
        assert!(body["errors"].is_null(), "{body}");
        patient
    }

    /// Statements the server runs for one GraphQL call (after the call returns).
    /// With a token, the login is looked up first, so that the count is the operation's own
    /// (a login just checked is cached for a few seconds).
    pub async fn statements_for(&self, token: Option<&str>, query: &str, variables: Value) -> (u64, Value) {
        if let Some(t) = token {
            assert!(self.me(t).await.is_ok(), "the token works");
        }
        let before = self.state.statements.get();
        let body = self.gql(token, query, variables).await;
        (self.state.statements.get() - before, body)
    }
}

/// Every weekday, the same window.
pub fn every_day(start: &str, end: &str) -> Value {
    Value::Array(
        ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]
            .iter()
            .map(|d| json!({ "weekday": d, "startTime": start, "endTime": end }))
            .collect(),
    )
}

/// The first date with this weekday (0 = Monday) at least `min_days` from today (UTC).
pub fn upcoming(weekday: u32, min_days: i64) -> chrono::NaiveDate {
    use chrono::Datelike;
    let mut d = chrono::Utc::now().date_naive() + chrono::Days::new(u64::try_from(min_days).unwrap());
    while d.weekday().num_days_from_monday() != weekday {
        d = d.succ_opt().unwrap();
    }
    d
}

/// `YYYY-MM-DDTHH:MM:00Z`: the instant of local time `hhmm` on `day` in time zone `tz`, by the
/// zone's own rules (so a test reads the same in winter and in summer).
pub fn utc_of_local(day: chrono::NaiveDate, hhmm: &str, tz: &str) -> String {
    use chrono::TimeZone;
    let tz: chrono_tz::Tz = tz.parse().unwrap();
    let time = chrono::NaiveTime::parse_from_str(hhmm, "%H:%M").unwrap();
    let local = tz.from_local_datetime(&day.and_time(time)).single().unwrap();
    local.to_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
