//! Outgoing email: SMTP when `SMTP_URL` is set, otherwise `.eml` files in the outbox folder.
use std::path::PathBuf;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    address::Envelope,
    message::{
        Body, Mailbox, SinglePart,
        header::{ContentTransferEncoding, ContentType, HeaderName, HeaderValue},
    },
};

use crate::{
    config::{Config, MailTransportConfig},
    db::entities::outbox_email,
};

const KIND: HeaderName = HeaderName::new_from_ascii_str("X-CyberMed-Kind");
const APPOINTMENT: HeaderName = HeaderName::new_from_ascii_str("X-CyberMed-Appointment");
const SERIES: HeaderName = HeaderName::new_from_ascii_str("X-CyberMed-Series");

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

    /// Whether emails go to the outbox folder, where [`Self::write_files`] delivers a batch at once.
    pub fn writes_files(&self) -> bool {
        matches!(self.transport, Transport::Outbox(_))
    }

    /// Delivers one email of the outbox (see [`Self::message`]): through SMTP, or as its file.
    ///
    /// # Errors
    /// A description safe to log and to show admins (no addresses, no content) when building or
    /// delivery fails.
    pub async fn deliver(&self, email: &outbox_email::Model) -> Result<(), String> {
        match &self.transport {
            Transport::Smtp(smtp) => smtp
                .send(self.message(email)?)
                .await
                .map(|_| ())
                .map_err(|e| format!("SMTP delivery failed ({})", smtp_error_kind(&e))),
            Transport::Outbox(_) => self.write_files(std::slice::from_ref(email)).await.remove(0),
        }
    }

    /// Writes `emails` to the outbox folder, each as `<id>.eml`, whole or not at all (a retry after
    /// a crash replaces the same file), in one call to the blocking pool for them all: each
    /// hand-over to a blocking thread and back costs more than writing a small file. The outcomes
    /// are in `emails`' order, described as [`Self::deliver`]'s; with SMTP configured, every one is
    /// an error.
    pub async fn write_files(&self, emails: &[outbox_email::Model]) -> Vec<Result<(), String>> {
        let Transport::Outbox(dir) = &self.transport else {
            return emails.iter().map(|_| Err("the outbox folder is not configured".to_owned())).collect();
        };
        let files: Vec<_> =
            emails.iter().map(|e| self.message(e).map(|m| (format!("{}.eml", e.id), m.formatted()))).collect();
        let dir = dir.clone();
        let written = tokio::task::spawn_blocking(move || {
            let created = std::fs::create_dir_all(&dir);
            files
                .into_iter()
                .map(|file| {
                    let (name, bytes) = file?;
                    if let Err(e) = &created {
                        return Err(format!("cannot create the outbox folder: {}", e.kind()));
                    }
                    publish(&dir, &name, &bytes).map_err(|e| format!("cannot write to the outbox: {}", e.kind()))
                })
                .collect::<Vec<_>>()
        })
        .await;
        written.unwrap_or_else(|_| emails.iter().map(|_| Err("the outbox writer stopped".to_owned())).collect())
    }

    /// One email of the outbox as plain text, with its fixed `Message-ID` and the
    /// `X-CyberMed-Kind` (and, for appointment emails, `X-CyberMed-Appointment`; for a recurring
    /// series' emails, `X-CyberMed-Series`) headers.
    fn message(&self, email: &outbox_email::Model) -> Result<Message, String> {
        let to: Mailbox = email.to_address.parse().map_err(|_| "recipient is not a valid mailbox".to_owned())?;
        let body = &email.body;
        // Plain 7bit/8bit when every line fits RFC 5322's 998 octets, so that links and tokens
        // stay whole in the raw message (lettre would pick quoted-printable past 76 and fold them).
        let body = if !body.contains('\0') && body.lines().all(|l| l.len() <= 998) {
            let encoding =
                if body.is_ascii() { ContentTransferEncoding::SevenBit } else { ContentTransferEncoding::EightBit };
            let crlf = body.lines().map(|l| format!("{l}\r\n")).collect::<String>();
            Body::dangerous_pre_encoded(crlf.into_bytes(), encoding)
        } else {
            Body::new(body.clone())
        };
        let part = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(body);
        // The envelope given, not derived: lettre would parse the `From` and `To` it just wrote.
        let envelope = Envelope::new(Some(self.from.email.clone()), vec![to.email.clone()])
            .map_err(|_| "could not build the message".to_owned())?;
        let mut builder = Message::builder()
            .envelope(envelope)
            .from(self.from.clone())
            .to(to)
            .subject(email.subject.as_str())
            .message_id(Some(email.message_id.clone()))
            .raw_header(HeaderValue::new(KIND, email.kind.header_value().to_owned()));
        if let Some(appointment) = email.appointment_id {
            builder = builder.raw_header(HeaderValue::new(APPOINTMENT, appointment.to_string()));
        }
        if let Some(series) = email.series_id {
            builder = builder.raw_header(HeaderValue::new(SERIES, series.to_string()));
        }
        builder.singlepart(part).map_err(|_| "could not build the message".to_owned())
    }
}

/// Writes `bytes` as `dir/name` so that a reader never finds it half-written: under a hidden name
/// first (`.name.part`), then renamed over `name` (a retry replaces it whole). Emails and the SMS
/// `file` transport's messages alike.
pub(crate) fn publish(dir: &std::path::Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let part = dir.join(format!(".{name}.part"));
    let written = std::fs::write(&part, bytes).and_then(|()| std::fs::rename(&part, dir.join(name)));
    if written.is_err() {
        // Nothing half-written is left behind.
        let _ = std::fs::remove_file(&part);
    }
    written
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

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use super::publish;

    #[test]
    fn an_email_file_appears_whole_and_a_retry_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        publish(dir.path(), "a.eml", b"first").unwrap();
        publish(dir.path(), "a.eml", b"second, whole").unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["a.eml"], "nothing but the email is left");
        assert_eq!(std::fs::read(dir.path().join("a.eml")).unwrap(), b"second, whole");
        // A folder that cannot take it: an error, and nothing written.
        assert!(publish(&dir.path().join("missing"), "b.eml", b"x").is_err());
        assert!(!dir.path().join("missing").exists());
    }
}
