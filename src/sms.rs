//! Outgoing SMS (`SMS_TRANSPORT`): a JSON file per message in `SMS_OUTBOX_DIR` (the default, for
//! development and tests), or a `POST` to an HTTP gateway (`SMS_HTTP_URL`).
//!
//! Neither logs nor returns a message's body or its number: an error is a description safe to
//! log and to show admins (`lastError`).
use std::{path::PathBuf, time::Duration};

use anyhow::Context;
use reqwest::header::HeaderValue;
use serde_json::{Value, json};

use crate::{
    config::{Config, SmsTransportConfig},
    db::entities::outbox_email,
};

/// How long the gateway has to answer (connecting included); past it the attempt has failed
/// and is retried.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest gateway id kept as `providerMessageId`.
const PROVIDER_ID_MAX: usize = 200;

/// Sends the service's SMS.
#[derive(Clone)]
pub struct SmsTransport {
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    File(PathBuf),
    Http { client: reqwest::Client, url: String, token: Option<String> },
}

impl SmsTransport {
    /// Builds the transport from the configuration.
    ///
    /// # Errors
    /// The HTTP client cannot be built (its TLS roots), or a token that cannot be a header.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let kind = match &config.sms {
            SmsTransportConfig::File(dir) => Kind::File(dir.clone()),
            SmsTransportConfig::Http { url, token } => {
                if let Some(t) = token {
                    HeaderValue::from_str(&format!("Bearer {}", t.expose()))
                        .map_err(|_| anyhow::anyhow!("SMS_HTTP_TOKEN cannot be sent in a header"))?;
                }
                let client = reqwest::Client::builder()
                    .timeout(HTTP_TIMEOUT)
                    // A gateway that redirects is misconfigured: the token must not follow it.
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .context("building the SMS gateway's HTTP client")?;
                Kind::Http {
                    client,
                    url: url.expose().to_owned(),
                    token: token.as_ref().map(|t| t.expose().to_owned()),
                }
            }
        };
        Ok(Self { kind })
    }

    /// Sends one SMS of the outbox: `to_address` is its number, `message_id` its idempotency key
    /// (the same on every attempt). Returns the gateway's id of the message when it gave one.
    ///
    /// - `file`: writes `<id>.json`, `{"id","to","body"}`, creating the folder if needed, whole
    ///   ([`crate::mail::publish`]: a hidden name, then renamed; a retry replaces the same file).
    /// - `http`: `POST`s `{"to","body","messageId"}` with `Idempotency-Key: <messageId>` and the
    ///   bearer token when set; a 2xx answer is sent (its JSON `id`, a string or a number, is the
    ///   gateway's id), anything else, or no answer within [`HTTP_TIMEOUT`], is a failure.
    ///
    /// # Errors
    /// A description without the number or the body.
    pub async fn send(&self, sms: &outbox_email::Model) -> Result<Option<String>, String> {
        match &self.kind {
            Kind::File(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| format!("cannot create the SMS outbox folder: {}", e.kind()))?;
                let file = json!({ "id": sms.id, "to": sms.to_address, "body": sms.body }).to_string();
                let (dir, name) = (dir.clone(), format!("{}.json", sms.id));
                tokio::task::spawn_blocking(move || crate::mail::publish(&dir, &name, file.as_bytes()))
                    .await
                    .map_err(|_| "the SMS outbox write was lost".to_owned())?
                    .map_err(|e| format!("cannot write to the SMS outbox: {}", e.kind()))?;
                Ok(None)
            }
            Kind::Http { client, url, token } => {
                let mut request = client
                    .post(url)
                    .header("Idempotency-Key", &sms.message_id)
                    .json(&json!({ "to": sms.to_address, "body": sms.body, "messageId": sms.message_id }));
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.map_err(|e| describe(&e))?;
                let status = response.status();
                if !status.is_success() {
                    return Err(format!("SMS gateway answered {}", status.as_u16()));
                }
                // The id is a courtesy of the gateway: an answer without one (or not JSON) is sent.
                let answer: Option<Value> = response.json().await.ok();
                Ok(answer.as_ref().and_then(|a| provider_id(a.get("id")?)))
            }
        }
    }
}

/// The gateway's id of a message, when it is a non-empty string or a number.
fn provider_id(id: &Value) -> Option<String> {
    let id = match id {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!id.is_empty()).then(|| id.chars().filter(|c| !c.is_control()).take(PROVIDER_ID_MAX).collect())
}

/// What went wrong, without the URL (it may carry a key) or anything of the message.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "SMS gateway did not answer in time".to_owned()
    } else if e.is_connect() {
        "cannot connect to the SMS gateway".to_owned()
    } else {
        "SMS gateway request failed".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::provider_id;

    #[test]
    fn a_gateway_id_is_a_string_or_a_number() {
        assert_eq!(provider_id(&json!("SM123")).as_deref(), Some("SM123"));
        assert_eq!(provider_id(&json!(42)).as_deref(), Some("42"));
        assert_eq!(provider_id(&json!("")), None);
        assert_eq!(provider_id(&json!({"a": 1})), None);
        assert_eq!(provider_id(&json!("x".repeat(500))).map(|s| s.len()), Some(200));
    }
}
