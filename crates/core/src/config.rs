//! Configuration, read once from the environment (and `.env` when present).
//!
//! Every variable is documented in `.env.example` and in the README; this is the only place that reads them.
use std::{fmt, path::PathBuf, time::Duration};

use anyhow::{Context, bail};

/// A secret value whose `Debug`/`Display` never print it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself; call only where it is used.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// `development` (friendly defaults) or `production` (strict checks, no GraphiQL/introspection by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

/// Where email goes.
#[derive(Clone, Debug)]
pub enum MailTransportConfig {
    /// `SMTP_URL`, e.g. `smtp://127.0.0.1:2525` or `smtps://user:pass@host:465`.
    Smtp(Secret),
    /// Each message written as an `.eml` file into this folder.
    Outbox(PathBuf),
}

/// Where SMS go (`SMS_TRANSPORT`).
#[derive(Clone, Debug)]
pub enum SmsTransportConfig {
    /// `file`: each message written as a JSON file `{"id","to","body"}` into this folder
    /// (`SMS_OUTBOX_DIR`).
    File(PathBuf),
    /// `http`: each message `POST`ed as JSON to `SMS_HTTP_URL`, with `SMS_HTTP_TOKEN` as a bearer
    /// token when set. Both secret: a gateway URL may carry a key.
    Http { url: Secret, token: Option<Secret> },
}

/// Local hours in which no SMS is sent (`SMS_QUIET_HOURS`, `21:00-08:00`): from `start` up to
/// `end`, across midnight when `end` is earlier than `start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietHours {
    pub start: chrono::NaiveTime,
    pub end: chrono::NaiveTime,
}

impl QuietHours {
    /// Reads `HH:MM-HH:MM`; an empty value is none.
    ///
    /// # Errors
    /// Anything else, or a start equal to the end.
    pub fn parse(value: &str) -> anyhow::Result<Option<Self>> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        let time = |t: &str| {
            chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M")
                .with_context(|| format!("`{value}` is not like 21:00-08:00"))
        };
        let (start, end) = value.split_once('-').with_context(|| format!("`{value}` is not like 21:00-08:00"))?;
        let (start, end) = (time(start)?, time(end)?);
        if start == end {
            bail!("the quiet hours `{value}` start and end at the same time");
        }
        Ok(Some(Self { start, end }))
    }

    /// When the quiet hours that hold the local time `at` end (on `at`'s day or the next), or
    /// `None` when `at` is outside them.
    pub fn end_after(self, at: chrono::NaiveDateTime) -> Option<chrono::NaiveDateTime> {
        let (day, t) = (at.date(), at.time());
        let end_on = |d: chrono::NaiveDate| d.and_time(self.end);
        if self.start < self.end {
            (self.start <= t && t < self.end).then(|| end_on(day))
        } else if t >= self.start {
            day.succ_opt().map(end_on)
        } else {
            (t < self.end).then(|| end_on(day))
        }
    }
}

/// How log lines are written (`LOG_FORMAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (coloured only when stderr is a terminal).
    Text,
    /// One JSON object per line.
    Json,
}

/// The service's whole configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub database_url: Secret,
    /// Pool size; `None` picks one from the database kind and the core count.
    pub database_max_connections: Option<u32>,
    pub bind_addr: String,
    pub jwt_secret: Secret,
    /// True when `JWT_SECRET` was not set and a random one was made for this process.
    pub jwt_secret_generated: bool,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub password_reset_ttl: Duration,
    pub mail: MailTransportConfig,
    pub mail_from: String,
    pub public_url: String,
    /// The page the reset email links to (`PASSWORD_RESET_URL`, default `<PUBLIC_URL>/reset-password`,
    /// the built-in one); the link adds `email` and `token` to its query.
    pub password_reset_url: String,
    pub login_max_failures: u32,
    pub login_window: Duration,
    pub login_max_failures_per_address: u32,
    /// Password-reset emails sent to one address per hour, at most.
    pub password_reset_max_per_hour: u32,
    /// Proxies whose `X-Forwarded-For` names the client address (`TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<crate::net::IpNet>,
    pub cors_allowed_origins: Vec<String>,
    pub app_env: AppEnv,
    /// GraphiQL page and introspection on.
    pub graphiql: bool,
    /// Longest a request may take before it is answered 503.
    pub request_timeout: Duration,
    /// How long before an appointment each reminder is due (`REMINDER_LEADS`); empty: none.
    pub reminder_leads: Vec<Duration>,
    /// First retry delay of a failed delivery; it doubles up to `mail_retry_max`.
    pub mail_retry: Duration,
    pub mail_retry_max: Duration,
    /// Deliveries tried before an email is `FAILED`.
    pub mail_max_attempts: u32,
    /// Sent emails are deleted after this long.
    pub outbox_retention: Duration,
    /// Where Prometheus `/metrics` is served (`METRICS_BIND_ADDR`); `None`: nowhere.
    pub metrics_bind_addr: Option<String>,
    /// `LOG_FORMAT`: `text` (default) or `json`.
    pub log_format: LogFormat,
    /// Sign-up attempts per client address per hour (`REGISTER_MAX_PER_HOUR`).
    pub register_max_per_hour: u32,
    /// Active future appointments a patient may hold in all (`MAX_UPCOMING_PER_PATIENT`).
    pub max_upcoming_per_patient: u32,
    /// … and with one doctor (`MAX_UPCOMING_PER_DOCTOR_PAIR`).
    pub max_upcoming_per_doctor_pair: u32,
    /// How long a slot hold keeps its time (`HOLD_TTL_SECS`).
    pub hold_ttl: Duration,
    /// Live holds a patient may have at once (`HOLD_MAX_PER_PATIENT`).
    pub hold_max_per_patient: u32,
    /// How long a waitlist offer keeps its time (`WAITLIST_OFFER_TTL_SECS`).
    pub waitlist_offer_ttl: Duration,
    /// A cancellation closer than this to the start is a late one (`LATE_CANCEL_HOURS`).
    pub late_cancel_hours: u32,
    /// Open connections one client address may hold (`MAX_CONNECTIONS_PER_ADDRESS`).
    pub max_connections_per_address: u32,
    /// Open WebSockets one user may hold over all their logins (`WS_MAX_SOCKETS_PER_USER`).
    pub ws_max_sockets_per_user: u32,
    /// Running subscriptions one socket may hold (`WS_MAX_SUBSCRIPTIONS`).
    pub ws_max_subscriptions: u32,
    /// Where SMS go (`SMS_TRANSPORT`, `SMS_OUTBOX_DIR`, `SMS_HTTP_URL`, `SMS_HTTP_TOKEN`).
    pub sms: SmsTransportConfig,
    /// How long before an appointment each SMS reminder is due (`SMS_REMINDER_LEADS`); empty: none.
    pub sms_reminder_leads: Vec<Duration>,
    /// `SMS_QUIET_HOURS`, in the doctor's zone; `None`: none.
    pub sms_quiet_hours: Option<QuietHours>,
    /// Webhook endpoints and their sender (`WEBHOOK_*`).
    pub webhooks: WebhookConfig,
}

/// The webhook settings (`WEBHOOK_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebhookConfig {
    /// `WEBHOOK_ALLOW_HTTP`: `http://` URLs are accepted too.
    pub allow_http: bool,
    /// `WEBHOOK_ALLOW_PRIVATE_NETWORKS`: loopback, private and other non-public addresses are
    /// accepted, at registration and when delivering.
    pub allow_private_networks: bool,
    /// `WEBHOOK_RETRY_SECS` (fractions allowed): the first retry's delay, doubling up to `retry_max`.
    pub retry: Duration,
    /// `WEBHOOK_RETRY_MAX_SECS`.
    pub retry_max: Duration,
    /// `WEBHOOK_MAX_ATTEMPTS`: attempts before a delivery is `FAILED`.
    pub max_attempts: u32,
    /// `WEBHOOK_DISABLE_AFTER`: deliveries failing for good in a row before an endpoint is turned off.
    pub disable_after: u32,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            allow_http: false,
            allow_private_networks: false,
            retry: Duration::from_secs(30),
            retry_max: Duration::from_secs(3600),
            max_attempts: 10,
            disable_after: 20,
        }
    }
}

pub const MIN_JWT_SECRET_BYTES: usize = 32;

/// The longest any time setting may be (seconds, hours, reminder leads): ten years. A longer one
/// is a mistake, and one of hundreds of thousands of years would overflow the date arithmetic
/// that uses it (a panic at each booking, login or retry).
pub const MAX_SETTING_SECS: u64 = 10 * 365 * 86_400;

impl Config {
    /// Reads the process environment (after loading `.env` if there is one).
    ///
    /// # Errors
    /// A malformed value, or `APP_ENV=production` without a `JWT_SECRET` of at least 32 bytes.
    pub fn from_env() -> anyhow::Result<Self> {
        // A missing .env is the normal case; a malformed one is worth failing on.
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => return Err(e).context("reading .env"),
        }
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    /// Builds the configuration from any key lookup (the environment, or a map in tests).
    ///
    /// # Errors
    /// As [`Config::from_env`].
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let var = |key: &str| get(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let secs = |key: &str, default: u64| -> anyhow::Result<Duration> {
            match var(key) {
                None => Ok(Duration::from_secs(default)),
                Some(v) => {
                    let n: u64 = v.parse().with_context(|| format!("{key} must be a whole number of seconds"))?;
                    if n == 0 {
                        bail!("{key} must be at least 1");
                    }
                    if n > MAX_SETTING_SECS {
                        bail!("{key} must be at most {MAX_SETTING_SECS} seconds (ten years)");
                    }
                    Ok(Duration::from_secs(n))
                }
            }
        };
        let count = |key: &str, default: u32| -> anyhow::Result<u32> {
            var(key).map_or(Ok(default), |v| v.parse().with_context(|| format!("{key} must be a whole number")))
        };

        let app_env = match var("APP_ENV").as_deref() {
            None | Some("development" | "dev" | "test") => AppEnv::Development,
            Some("production" | "prod") => AppEnv::Production,
            Some(other) => bail!("APP_ENV must be `development` or `production`, not `{other}`"),
        };

        let (jwt_secret, jwt_secret_generated) = match var("JWT_SECRET") {
            Some(s) => {
                if s.len() < MIN_JWT_SECRET_BYTES {
                    bail!("JWT_SECRET must be at least {MIN_JWT_SECRET_BYTES} bytes");
                }
                (Secret::new(s), false)
            }
            None if app_env == AppEnv::Production => {
                bail!("JWT_SECRET (at least {MIN_JWT_SECRET_BYTES} bytes) is required when APP_ENV=production")
            }
            None => (Secret::new(crate::auth::random_token(48)), true),
        };

        let mail = match var("SMTP_URL") {
            Some(url) => MailTransportConfig::Smtp(Secret::new(url)),
            None => MailTransportConfig::Outbox(PathBuf::from(
                var("MAIL_OUTBOX_DIR").unwrap_or_else(|| "./outbox".to_owned()),
            )),
        };

        let graphiql = match var("GRAPHIQL").as_deref() {
            None => app_env == AppEnv::Development,
            Some("1" | "true" | "yes" | "on") => true,
            Some("0" | "false" | "no" | "off") => false,
            Some(other) => bail!("GRAPHIQL must be true or false, not `{other}`"),
        };

        let sms = match var("SMS_TRANSPORT").as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("file") => SmsTransportConfig::File(PathBuf::from(
                var("SMS_OUTBOX_DIR").unwrap_or_else(|| "./sms-outbox".to_owned()),
            )),
            Some("http") => {
                let url = var("SMS_HTTP_URL").context("SMS_HTTP_URL is required when SMS_TRANSPORT=http")?;
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    bail!("SMS_HTTP_URL must be an http:// or https:// URL");
                }
                SmsTransportConfig::Http { url: Secret::new(url), token: var("SMS_HTTP_TOKEN").map(Secret::new) }
            }
            Some(other) => bail!("SMS_TRANSPORT must be `file` or `http`, not `{other}`"),
        };

        let public_url =
            var("PUBLIC_URL").unwrap_or_else(|| "http://127.0.0.1:8000".to_owned()).trim_end_matches('/').to_owned();
        let password_reset_url = var("PASSWORD_RESET_URL").unwrap_or_else(|| format!("{public_url}/reset-password"));
        Ok(Self {
            database_url: Secret::new(
                var("DATABASE_URL").unwrap_or_else(|| "sqlite://cybermed.db?mode=rwc".to_owned()),
            ),
            database_max_connections: match var("DATABASE_MAX_CONNECTIONS") {
                None => None,
                Some(v) => Some(v.parse().context("DATABASE_MAX_CONNECTIONS must be a whole number")?),
            },
            bind_addr: var("BIND_ADDR").unwrap_or_else(|| "127.0.0.1:8000".to_owned()),
            jwt_secret,
            jwt_secret_generated,
            access_token_ttl: secs("ACCESS_TOKEN_TTL_SECS", 900)?,
            refresh_token_ttl: secs("REFRESH_TOKEN_TTL_SECS", 604_800)?,
            password_reset_ttl: secs("PASSWORD_RESET_TTL_SECS", 600)?,
            mail,
            mail_from: var("MAIL_FROM").unwrap_or_else(|| "CyberMed <no-reply@localhost>".to_owned()),
            public_url,
            password_reset_url,
            login_max_failures: count("LOGIN_MAX_FAILURES", 5)?,
            login_window: secs("LOGIN_WINDOW_SECS", 900)?,
            login_max_failures_per_address: count("LOGIN_MAX_FAILURES_PER_ADDRESS", 50)?,
            password_reset_max_per_hour: count("PASSWORD_RESET_MAX_PER_HOUR", 3)?,
            trusted_proxies: match var("TRUSTED_PROXIES") {
                None => Vec::new(),
                Some(v) => crate::net::IpNet::parse_list(&v).context("TRUSTED_PROXIES")?,
            },
            cors_allowed_origins: var("CORS_ALLOWED_ORIGINS")
                .map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
                .unwrap_or_default(),
            app_env,
            graphiql,
            request_timeout: secs("REQUEST_TIMEOUT_SECS", 30)?,
            // Set but empty means no reminders, unlike the other variables.
            reminder_leads: parse_leads(get("REMINDER_LEADS").as_deref().unwrap_or("24h,2h"))
                .context("REMINDER_LEADS")?,
            mail_retry: secs("MAIL_RETRY_SECS", 30)?,
            mail_retry_max: secs("MAIL_RETRY_MAX_SECS", 3600)?,
            mail_max_attempts: match count("MAIL_MAX_ATTEMPTS", 12)? {
                0 => bail!("MAIL_MAX_ATTEMPTS must be at least 1"),
                n => n,
            },
            outbox_retention: Duration::from_secs(
                u64::from(count("OUTBOX_RETENTION_DAYS", 30)?).saturating_mul(86_400),
            ),
            metrics_bind_addr: var("METRICS_BIND_ADDR"),
            log_format: log_format(var("LOG_FORMAT").as_deref())?,
            register_max_per_hour: count("REGISTER_MAX_PER_HOUR", 20)?,
            max_upcoming_per_patient: count("MAX_UPCOMING_PER_PATIENT", 60)?,
            max_upcoming_per_doctor_pair: count("MAX_UPCOMING_PER_DOCTOR_PAIR", 30)?,
            hold_ttl: secs("HOLD_TTL_SECS", 300)?,
            hold_max_per_patient: at_least_one("HOLD_MAX_PER_PATIENT", count("HOLD_MAX_PER_PATIENT", 2)?)?,
            waitlist_offer_ttl: secs("WAITLIST_OFFER_TTL_SECS", 900)?,
            late_cancel_hours: match count("LATE_CANCEL_HOURS", 24)? {
                h if u64::from(h) * 3600 > MAX_SETTING_SECS => {
                    bail!("LATE_CANCEL_HOURS must be at most {} (ten years)", MAX_SETTING_SECS / 3600)
                }
                h => h,
            },
            max_connections_per_address: at_least_one(
                "MAX_CONNECTIONS_PER_ADDRESS",
                count("MAX_CONNECTIONS_PER_ADDRESS", 256)?,
            )?,
            ws_max_sockets_per_user: at_least_one("WS_MAX_SOCKETS_PER_USER", count("WS_MAX_SOCKETS_PER_USER", 8)?)?,
            ws_max_subscriptions: at_least_one("WS_MAX_SUBSCRIPTIONS", count("WS_MAX_SUBSCRIPTIONS", 16)?)?,
            sms,
            // Set but empty means none, as for REMINDER_LEADS.
            sms_reminder_leads: parse_leads(get("SMS_REMINDER_LEADS").as_deref().unwrap_or("24h"))
                .context("SMS_REMINDER_LEADS")?,
            sms_quiet_hours: QuietHours::parse(get("SMS_QUIET_HOURS").as_deref().unwrap_or("21:00-08:00"))
                .context("SMS_QUIET_HOURS")?,
            webhooks: WebhookConfig {
                allow_http: flag("WEBHOOK_ALLOW_HTTP", var("WEBHOOK_ALLOW_HTTP").as_deref())?,
                allow_private_networks: flag(
                    "WEBHOOK_ALLOW_PRIVATE_NETWORKS",
                    var("WEBHOOK_ALLOW_PRIVATE_NETWORKS").as_deref(),
                )?,
                retry: fractional_secs("WEBHOOK_RETRY_SECS", var("WEBHOOK_RETRY_SECS").as_deref(), 30)?,
                retry_max: fractional_secs("WEBHOOK_RETRY_MAX_SECS", var("WEBHOOK_RETRY_MAX_SECS").as_deref(), 3600)?,
                max_attempts: at_least_one("WEBHOOK_MAX_ATTEMPTS", count("WEBHOOK_MAX_ATTEMPTS", 10)?)?,
                disable_after: at_least_one("WEBHOOK_DISABLE_AFTER", count("WEBHOOK_DISABLE_AFTER", 20)?)?,
            },
        })
    }

    /// True in production mode.
    pub fn is_production(&self) -> bool {
        self.app_env == AppEnv::Production
    }
}

/// A boolean setting: `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`); unset is false.
///
/// # Errors
/// Any other value.
fn flag(key: &str, value: Option<&str>) -> anyhow::Result<bool> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("0" | "false" | "no" | "off") => Ok(false),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some(other) => bail!("{key} must be true or false, not `{other}`"),
    }
}

/// Seconds that may have a fraction (`0.2`), at least 1 ms; `default` when unset.
///
/// # Errors
/// Not a number, or under 1 ms.
fn fractional_secs(key: &str, value: Option<&str>, default: u64) -> anyhow::Result<Duration> {
    let Some(v) = value else { return Ok(Duration::from_secs(default)) };
    let secs: f64 = v.parse().with_context(|| format!("{key} must be a number of seconds"))?;
    if !secs.is_finite() || !(0.001..=31_536_000.0).contains(&secs) {
        bail!("{key} must be between 0.001 and 31536000 seconds");
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `n`, unless it is zero (a limit of zero would refuse everything).
fn at_least_one(key: &str, n: u32) -> anyhow::Result<u32> {
    if n == 0 {
        bail!("{key} must be at least 1");
    }
    Ok(n)
}

/// Reads `LOG_FORMAT`: `text` (also when unset) or `json`.
///
/// # Errors
/// Any other value.
pub fn log_format(value: Option<&str>) -> anyhow::Result<LogFormat> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None | Some("text") => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => bail!("LOG_FORMAT must be `text` or `json`, not `{other}`"),
    }
}

/// Reads `24h,2h`-style leads: whole numbers with a unit of `s`, `m`, `h` or `d`, comma-separated;
/// an empty list is none.
///
/// # Errors
/// A lead without a known unit or a whole number, or of zero.
pub fn parse_leads(value: &str) -> anyhow::Result<Vec<Duration>> {
    let mut leads = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (n, unit) = part.split_at(part.len() - part.chars().last().map_or(0, char::len_utf8));
        let n: u64 = n.trim().parse().with_context(|| format!("`{part}` is not like 90s, 30m, 24h or 2d"))?;
        let secs = match unit {
            "s" => n,
            "m" => n.saturating_mul(60),
            "h" => n.saturating_mul(3600),
            "d" => n.saturating_mul(86_400),
            _ => bail!("`{part}` is not like 90s, 30m, 24h or 2d"),
        };
        if secs == 0 {
            bail!("a reminder lead must be longer than zero");
        }
        if secs > MAX_SETTING_SECS {
            bail!("`{part}`: a reminder lead must be at most ten years");
        }
        leads.push(Duration::from_secs(secs));
    }
    leads.sort_unstable();
    leads.dedup();
    Ok(leads)
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

    use super::{Config, MAX_SETTING_SECS, QuietHours, parse_leads};

    fn refused(key: &str, value: &str) -> String {
        let e = Config::from_lookup(|k| (k == key).then(|| value.to_owned())).map(|_| ()).unwrap_err();
        format!("{e:#}")
    }

    #[test]
    fn time_settings_longer_than_ten_years_are_refused_naming_the_setting() {
        for key in ["HOLD_TTL_SECS", "ACCESS_TOKEN_TTL_SECS", "MAIL_RETRY_MAX_SECS", "LOGIN_WINDOW_SECS"] {
            assert!(refused(key, "9000000000000").contains(key), "{key}");
            let ten_years = MAX_SETTING_SECS.to_string();
            assert!(Config::from_lookup(|k| (k == key).then(|| ten_years.clone())).is_ok(), "{key}");
        }
        assert!(refused("LATE_CANCEL_HOURS", "3000000000").contains("LATE_CANCEL_HOURS"));
        assert!(refused("REMINDER_LEADS", "24h,100000000d").contains("100000000d"));
        assert!(parse_leads("3650d").is_ok());
        assert!(parse_leads("3651d").is_err());
    }

    fn at(day: u32, hhmm: &str) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, day).unwrap().and_time(NaiveTime::parse_from_str(hhmm, "%H:%M").unwrap())
    }

    #[test]
    fn quiet_hours_across_midnight_end_the_next_morning() {
        let q = QuietHours::parse("21:00-08:00").unwrap().unwrap();
        assert_eq!(q.end_after(at(8, "22:30")), Some(at(9, "08:00")));
        assert_eq!(q.end_after(at(8, "21:00")), Some(at(9, "08:00")));
        assert_eq!(q.end_after(at(9, "07:59")), Some(at(9, "08:00")));
        assert_eq!(q.end_after(at(9, "08:00")), None);
        assert_eq!(q.end_after(at(9, "12:00")), None);
    }

    #[test]
    fn quiet_hours_within_a_day_and_none() {
        let q = QuietHours::parse("13:00-14:30").unwrap().unwrap();
        assert_eq!(q.end_after(at(8, "13:10")), Some(at(8, "14:30")));
        assert_eq!(q.end_after(at(8, "12:59")), None);
        assert_eq!(QuietHours::parse(" ").unwrap(), None);
        assert!(QuietHours::parse("08:00").is_err());
        assert!(QuietHours::parse("08:00-08:00").is_err());
        assert!(QuietHours::parse("25:00-08:00").is_err());
    }
}
