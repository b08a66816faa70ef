//! Outgoing e-mail over SMTP (`SMTP_URL`, e.g. `smtp://127.0.0.1:2525`; add
//! user and password as `smtp://user:pass@host:port`). Plain SMTP only: this
//! build has no TLS for mail, so point it at a local relay or a sidecar.
//!
//! Sending is external to the database, so it is at-least-once: the
//! notifications consumer records each message in `mail_log` in the
//! transaction that records the event, and sends before that transaction
//! commits; a failed send rolls the event back for a retry, and only a crash
//! between a successful send and the commit can send a message twice.

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
    transport::smtp::authentication::Credentials,
};

/// The default sender, overridden by `MAIL_FROM`.
pub const DEFAULT_FROM: &str = "Switchboard <no-reply@switchboard.localhost>";
const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer for `smtp_url`, sending as `from`.
    pub fn new(smtp_url: &str, from: &str) -> Result<Self, String> {
        let (credentials, host, port) = parse_smtp_url(smtp_url)?;
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(SMTP_TIMEOUT));
        if let Some((user, pass)) = credentials {
            builder = builder.credentials(Credentials::new(user, pass));
        }
        let transport = builder.build();
        let from = from.parse::<Mailbox>().map_err(|e| format!("MAIL_FROM: {e}"))?;
        Ok(Self { transport, from })
    }

    /// The mailer configured by `SMTP_URL` (and `MAIL_FROM`), or `None`
    /// when `SMTP_URL` is unset or invalid (logged): e-mail is then off.
    pub fn from_env() -> Option<Self> {
        let url = std::env::var("SMTP_URL").ok().filter(|u| !u.trim().is_empty())?;
        let from = std::env::var("MAIL_FROM").unwrap_or_else(|_| DEFAULT_FROM.to_owned());
        match Self::new(&url, &from) {
            Ok(mailer) => Some(mailer),
            Err(err) => {
                tracing::error!(error = %err, "e-mail is off: bad mail configuration");
                None
            }
        }
    }

    /// Whether `to` is an address this mailer can send to.
    pub fn valid_recipient(to: &str) -> bool {
        to.parse::<Mailbox>().is_ok()
    }

    /// Sends one plain-text message.
    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), String> {
        let to = to.parse::<Mailbox>().map_err(|e| format!("recipient {to:?}: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_owned())
            .map_err(|e| format!("building the message: {e}"))?;
        self.transport.send(message).await.map_err(|e| format!("SMTP: {e}"))?;
        Ok(())
    }
}

/// `smtp://[user:password@]host[:port]` (port 25 by default).
type SmtpTarget = (Option<(String, String)>, String, u16);

fn parse_smtp_url(url: &str) -> Result<SmtpTarget, String> {
    let bad = || format!("SMTP_URL {url:?}: expected smtp://[user:password@]host[:port]");
    let rest = url.trim().strip_prefix("smtp://").ok_or_else(bad)?.trim_end_matches('/');
    let (credentials, hostport) = match rest.rsplit_once('@') {
        Some((auth, hostport)) => {
            let (user, pass) = auth.split_once(':').ok_or_else(bad)?;
            (Some((user.to_owned(), pass.to_owned())), hostport)
        }
        None => (None, rest),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| bad())?),
        None => (hostport, 25),
    };
    if host.is_empty() || host.contains('/') {
        return Err(bad());
    }
    Ok((credentials, host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::parse_smtp_url;

    #[test]
    fn smtp_urls_parse() {
        assert_eq!(parse_smtp_url("smtp://127.0.0.1:2525").ok(), Some((None, "127.0.0.1".into(), 2525)));
        assert_eq!(
            parse_smtp_url("smtp://u:p@mail.example:587/").ok(),
            Some((Some(("u".into(), "p".into())), "mail.example".into(), 587))
        );
        assert_eq!(parse_smtp_url("smtp://relay").ok(), Some((None, "relay".into(), 25)));
        assert!(parse_smtp_url("smtps://relay").is_err());
        assert!(parse_smtp_url("smtp://relay:x").is_err());
    }
}
