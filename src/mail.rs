//! Outgoing email: SMTP when `SMTP_URL` is set, otherwise `.eml` files in the outbox folder.
use std::path::PathBuf;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{
        Body, Mailbox, SinglePart,
        header::{ContentTransferEncoding, ContentType},
    },
};

use crate::config::{Config, MailTransportConfig};

/// Sends the service's emails.
#[derive(Clone)]
pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

#[derive(Clone)]
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Outbox(PathBuf),
}

impl Mailer {
    /// Builds the mailer from the configuration.
    ///
    /// # Errors
    /// An unparsable `MAIL_FROM` or `SMTP_URL`.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let from: Mailbox =
            config.mail_from.parse().map_err(|_| anyhow::anyhow!("MAIL_FROM is not a valid mailbox"))?;
        let transport = match &config.mail {
            MailTransportConfig::Smtp(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|_| anyhow::anyhow!("SMTP_URL is not a valid SMTP URL"))?
                    .timeout(Some(std::time::Duration::from_secs(15)))
                    .build(),
            ),
            MailTransportConfig::Outbox(dir) => Transport::Outbox(dir.clone()),
        };
        Ok(Self { from, transport })
    }

    /// Sends a plain-text email.
    ///
    /// # Errors
    /// A description safe to log (no addresses, no content) when building or delivery fails.
    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|_| "recipient is not a valid mailbox".to_owned())?;
        // Plain 7bit/8bit when every line fits RFC 5322's 998 octets, so that links and tokens
        // stay whole in the raw message (lettre would pick quoted-printable past 76 and fold them).
        let body = if !body.contains('\0') && body.lines().all(|l| l.len() <= 998) {
            let encoding =
                if body.is_ascii() { ContentTransferEncoding::SevenBit } else { ContentTransferEncoding::EightBit };
            let crlf = body.lines().map(|l| format!("{l}\r\n")).collect::<String>();
            Body::dangerous_pre_encoded(crlf.into_bytes(), encoding)
        } else {
            Body::new(body)
        };
        let part = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(body);
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .singlepart(part)
            .map_err(|_| "could not build the message".to_owned())?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| format!("SMTP delivery failed ({})", smtp_error_kind(&e))),
            Transport::Outbox(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| format!("cannot create the outbox folder: {}", e.kind()))?;
                let name = format!("{}-{}.eml", chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ"), uuid::Uuid::new_v4());
                tokio::fs::write(dir.join(name), message.formatted())
                    .await
                    .map_err(|e| format!("cannot write to the outbox: {}", e.kind()))
            }
        }
    }
}

fn smtp_error_kind(e: &lettre::transport::smtp::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_permanent() {
        "permanent"
    } else if e.is_transient() {
        "transient"
    } else {
        "connection"
    }
}
