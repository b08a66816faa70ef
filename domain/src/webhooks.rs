//! Outgoing webhooks: an account's admins register URLs that receive the
//! account's events (those whose topic matches one of the webhook's AMQP-style
//! patterns), signed with a per-webhook secret that is shown once.
//!
//! The notifications consumer enqueues one `webhook_deliveries` row per
//! matching webhook in the transaction that records the event as processed
//! ([`enqueue_deliveries`]), so each webhook gets each event once; the
//! delivery worker (`consumers::webhooks`) POSTs due deliveries, retries
//! failures with exponential backoff, and disables a webhook after
//! [`DISABLE_AFTER_FAILURES`] consecutive failures.
//!
//! Signature: `X-Switchboard-Signature: sha256=<hex>` where `<hex>` is the
//! HMAC-SHA256 of `"{timestamp}.{body}"` keyed with the secret exactly as
//! shown at creation (its 64 hex characters, as ASCII bytes), and
//! `{timestamp}` is the `X-Switchboard-Timestamp` header (Unix seconds).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::*;

/// An outgoing webhook (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Webhook {
    pub id: WebhookId,
    pub account_id: AccountId,
    /// Receives a signed `POST` per matching event.
    pub url: String,
    /// Topic patterns: `*` matches one word, `#` zero or more.
    pub events: Vec<String>,
    /// `false` once disabled (by an admin, or after 5 consecutive failed deliveries).
    pub active: bool,
    pub consecutive_failures: i32,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewWebhook {
    /// Defaults to the caller's account (global admins name one).
    #[serde(default)]
    pub account_id: Option<AccountId>,
    /// `http://` or `https://`.
    pub url: String,
    /// Topic patterns; at least one.
    pub events: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateWebhook {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// `true` re-enables a disabled webhook (and resets its failure count).
    pub active: Option<bool>,
}

/// One event's delivery to one webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = WebhookDelivery))]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: WebhookId,
    pub event_id: uuid::Uuid,
    pub topic: String,
    /// Attempts made so far.
    pub attempt: i32,
    /// The receiver's last HTTP status, if it answered.
    pub status_code: Option<i32>,
    /// Why the last attempt failed.
    pub error: Option<String>,
    /// When the next attempt is due; `None` once delivered or given up.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// After this many consecutive failed deliveries a webhook is disabled.
pub const DISABLE_AFTER_FAILURES: i32 = 5;
/// A single delivery is given up after this many attempts.
pub const MAX_DELIVERY_ATTEMPTS: i32 = 10;
/// Retry backoff: 1 s, 2 s, 4 s, … capped here.
pub const MAX_BACKOFF_SECS: i64 = 3600;
pub const SECRET_BYTES: usize = 32;
/// The topic of a test delivery ([`send_test`]): no event has it.
pub const TEST_TOPIC: &str = "webhook.test";
pub const MAX_EVENTS: usize = 50;

/// AMQP topic matching: words separated by `.`, `*` matches one word, `#`
/// matches zero or more (the same rule as `consumers::topic_matches`).
pub fn topic_matches(pattern: &str, topic: &str) -> bool {
    fn go(p: &[&str], t: &[&str]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(&"#"), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(&"*"), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let p: Vec<&str> = pattern.split('.').collect();
    let t: Vec<&str> = topic.split('.').collect();
    go(&p, &t)
}

/// The retry delay after `attempt` failed attempts (1-based): 1 s, 2 s, 4 s, …
pub fn backoff_secs(attempt: i32) -> i64 {
    let exp = (attempt.max(1) - 1).min(20) as u32;
    (1_i64 << exp).min(MAX_BACKOFF_SECS)
}

/// Checks and normalises topic patterns: dot-separated words of lowercase
/// letters, digits and `_`, or `*` / `#`.
pub fn validate_events(events: &[String]) -> crate::Result<Vec<String>> {
    if events.is_empty() || events.len() > MAX_EVENTS {
        return Err(crate::Error::invalid("events", format!("name 1 to {MAX_EVENTS} topic patterns")));
    }
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let e = e.trim();
        let ok = !e.is_empty()
            && e.len() <= 100
            && e.split('.').all(|w| {
                w == "*"
                    || w == "#"
                    || (!w.is_empty()
                        && w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
            });
        if !ok {
            return Err(crate::Error::invalid(
                "events",
                format!("{e:?} is not a topic pattern (words of a-z, 0-9, _, or * and #, separated by dots)"),
            ));
        }
        if !out.iter().any(|o: &String| o == e) {
            out.push(e.to_owned());
        }
    }
    Ok(out)
}

/// Checks a receiver URL: `http://` or `https://` with a host (parsed by the
/// `url` crate, as the HTTP client parses it), no spaces, bounded, and
/// (unless private targets are allowed) not naming this machine or a private
/// network, so that webhooks cannot be aimed at internal services. This is
/// the early, friendly refusal; the delivery worker checks again where it
/// counts, on the addresses it actually connects to.
pub fn validate_url(url: &str) -> crate::Result<String> {
    let url = url.trim();
    let ok = url.len() <= 2000
        && !url.chars().any(|c| c.is_whitespace() || c.is_control())
        && parse_url(url).is_some();
    if !ok {
        return Err(crate::Error::invalid("url", "must be an http:// or https:// URL"));
    }
    if !private_targets_allowed() && names_private_host(url) {
        return Err(crate::Error::invalid(
            "url",
            "must not point at this machine or a private network (set WEBHOOK_ALLOW_PRIVATE=1 on a closed network)",
        ));
    }
    Ok(url.to_owned())
}

static ALLOW_PRIVATE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether webhooks may target loopback and private addresses (an on-premises
/// install on a closed network; tests with local receivers). Off by default.
pub fn allow_private_targets(allow: bool) {
    ALLOW_PRIVATE.store(allow, std::sync::atomic::Ordering::Relaxed);
}

pub fn private_targets_allowed() -> bool {
    ALLOW_PRIVATE.load(std::sync::atomic::Ordering::Relaxed)
}

/// An `http`/`https` URL with a host, or `None`.
pub fn parse_url(url: &str) -> Option<url::Url> {
    url::Url::parse(url).ok().filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// The IP address an http(s) URL names literally (no name resolution runs
/// for those), if it names one.
pub fn literal_ip(url: &url::Url) -> Option<std::net::IpAddr> {
    match url.host()? {
        url::Host::Ipv4(v4) => Some(v4.into()),
        url::Host::Ipv6(v6) => Some(v6.into()),
        url::Host::Domain(_) => None,
    }
}

/// Whether the URL's host is `localhost`, an `.internal` name or a literal
/// loopback, private, link-local or otherwise internal address. A URL that
/// does not parse counts as private.
pub fn names_private_host(url: &str) -> bool {
    let Some(parsed) = parse_url(url) else { return true };
    if let Some(ip) = literal_ip(&parsed) {
        return is_private_ip(ip);
    }
    let host = parsed.host_str().unwrap_or_default().trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost") || host.ends_with(".internal")
}

/// Loopback, private (RFC 1918, ULA), link-local (incl. the cloud metadata
/// addresses 169.254.169.254 and fd00:ec2::254), CGNAT, benchmarking,
/// reserved, unspecified, broadcast and multicast addresses, and IPv6
/// addresses that embed an IPv4 one (mapped, compatible, NAT64) by the
/// address they embed.
pub fn is_private_ip(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || o[0] == 0
                || o[0] >= 240
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            // ::ffff:a.b.c.d, ::a.b.c.d, and the NAT64 prefix 64:ff9b::/96.
            let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
            if v6.to_ipv4_mapped().is_some() || nat64 || (s[..6] == [0; 6] && !v6.is_loopback()) {
                let o = v6.octets();
                return is_private_ip(std::net::Ipv4Addr::new(o[12], o[13], o[14], o[15]).into());
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
        }
    }
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::{
        Error, Result,
        actor::Actor,
        agents::audit,
        outbox::Event,
        sessions::{Page, page_limit, paginate},
    };
    use hmac::{Hmac, Mac};
    use rand::RngCore as _;
    use serde_json::json;
    use sha2::Sha256;
    use sqlx::{PgConnection, PgPool};

    /// `query_as!` for [`Webhook`]: its columns between `$before` and `$after`.
    macro_rules! webhook_query {
        ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
            sqlx::query_as!(
                Webhook,
                $before
                    + r#"id AS "id: WebhookId", account_id AS "account_id: AccountId", url, events, active,
                         consecutive_failures, disabled_at, created_at"#
                    + $after
                $(, $arg)*
            )
        };
    }

    /// `sha256=<hex HMAC-SHA256 of "{timestamp}.{body}">`, keyed with the
    /// secret as shown at creation (`secret_hex`, as ASCII bytes).
    pub fn sign(secret_hex: &str, timestamp: i64, body: &[u8]) -> String {
        // HMAC takes keys of any length.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret_hex.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    fn refuse_customers(actor: &Actor) -> Result<()> {
        if matches!(actor, Actor::Customer(_)) {
            Err(Error::forbidden("customers cannot manage webhooks"))
        } else {
            Ok(())
        }
    }

    /// A webhook the caller administers; outside their account "not found".
    async fn managed(conn: &mut PgConnection, actor: &Actor, id: WebhookId, lock: bool) -> Result<Webhook> {
        refuse_customers(actor)?;
        let hook = if lock {
            webhook_query!("SELECT ", " FROM webhooks WHERE id = $1 FOR UPDATE", id.0)
                .fetch_optional(&mut *conn)
                .await?
        } else {
            webhook_query!("SELECT ", " FROM webhooks WHERE id = $1", id.0).fetch_optional(&mut *conn).await?
        }
        .ok_or_else(|| Error::not_found("webhook"))?;
        actor.require_admin_of(hook.account_id, "webhook")?;
        Ok(hook)
    }

    /// Registers a webhook and returns it with its secret (hex), which
    /// cannot be shown again. Admins of the account.
    pub async fn create(pool: &PgPool, actor: &Actor, input: NewWebhook) -> Result<(Webhook, String)> {
        refuse_customers(actor)?;
        let account = actor.target_account(input.account_id)?;
        actor.require_admin_of(account, "webhook")?;
        let url = validate_url(&input.url)?;
        let events = validate_events(&input.events)?;
        let mut secret = [0u8; SECRET_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let mut tx = pool.begin().await?;
        let hook = webhook_query!(
            "INSERT INTO webhooks (account_id, url, events, secret) VALUES ($1, $2, $3, $4) RETURNING ",
            "",
            account.0,
            &url,
            &events,
            &secret[..]
        )
        .fetch_one(&mut *tx)
        .await?;
        audit(
            &mut tx,
            Some(account),
            actor,
            "webhook.created",
            &hook.id.to_string(),
            json!({ "url": url, "events": events }),
        )
        .await?;
        tx.commit().await?;
        Ok((hook, hex::encode(secret)))
    }

    /// The account's webhooks (never their secrets), oldest first. Admins.
    pub async fn list(pool: &PgPool, actor: &Actor, account: Option<AccountId>) -> Result<Vec<Webhook>> {
        refuse_customers(actor)?;
        let account = actor.target_account(account)?;
        actor.require_admin_of(account, "webhook")?;
        Ok(webhook_query!(
            "SELECT ",
            " FROM webhooks WHERE account_id = $1 ORDER BY created_at, id",
            account.0
        )
        .fetch_all(pool)
        .await?)
    }

    /// Changes a webhook's URL, patterns or state. Re-enabling resets its
    /// failure count. Admins of the account.
    pub async fn update(
        pool: &PgPool,
        actor: &Actor,
        id: WebhookId,
        input: UpdateWebhook,
    ) -> Result<Webhook> {
        refuse_customers(actor)?;
        let url = input.url.as_deref().map(validate_url).transpose()?;
        let events = input.events.as_deref().map(validate_events).transpose()?;
        let mut tx = pool.begin().await?;
        let current = managed(&mut tx, actor, id, true).await?;
        let hook = webhook_query!(
            "UPDATE webhooks SET url = coalesce($2, url), events = coalesce($3, events),
                 active = coalesce($4, active),
                 consecutive_failures = CASE WHEN $4 THEN 0 ELSE consecutive_failures END,
                 disabled_at = CASE WHEN $4 THEN NULL WHEN $4 = false THEN coalesce(disabled_at, now())
                               ELSE disabled_at END
             WHERE id = $1 RETURNING ",
            "",
            id.0,
            url.as_deref(),
            events.as_deref(),
            input.active
        )
        .fetch_one(&mut *tx)
        .await?;
        audit(
            &mut tx,
            Some(current.account_id),
            actor,
            "webhook.updated",
            &id.to_string(),
            json!({ "url": url, "events": events, "active": input.active }),
        )
        .await?;
        tx.commit().await?;
        Ok(hook)
    }

    /// One webhook (never its secret). Admins of the account.
    pub async fn get(pool: &PgPool, actor: &Actor, id: WebhookId) -> Result<Webhook> {
        let mut conn = pool.acquire().await?;
        managed(&mut conn, actor, id, false).await
    }

    /// Queues a test delivery to an active webhook: a `webhook.test` body
    /// shaped like every event's, sent, signed and retried by the delivery
    /// worker like any other. A disabled webhook is refused (409
    /// `webhook_disabled`): the worker sends nothing to it. Admins of the
    /// account.
    pub async fn send_test(pool: &PgPool, actor: &Actor, id: WebhookId) -> Result<Delivery> {
        let mut tx = pool.begin().await?;
        let hook = managed(&mut tx, actor, id, true).await?;
        if !hook.active {
            return Err(Error::conflict("webhook_disabled", "the webhook is disabled: re-enable it first"));
        }
        let event_id = uuid::Uuid::new_v4();
        let body = json!({ "event_id": event_id, "topic": TEST_TOPIC, "account_id": hook.account_id,
                           "session_id": null, "created_at": chrono::Utc::now(),
                           "payload": { "webhook_id": id, "test": true } });
        let delivery = sqlx::query_as!(
            Delivery,
            r#"INSERT INTO webhook_deliveries (webhook_id, event_id, topic, payload) VALUES ($1, $2, $3, $4)
               RETURNING id, webhook_id AS "webhook_id: WebhookId", event_id, topic, attempt, status_code, error,
                         next_attempt_at, delivered_at, created_at"#,
            id.0,
            event_id,
            TEST_TOPIC,
            body
        )
        .fetch_one(&mut *tx)
        .await?;
        audit(
            &mut tx,
            Some(hook.account_id),
            actor,
            "webhook.tested",
            &id.to_string(),
            json!({ "url": hook.url }),
        )
        .await?;
        tx.commit().await?;
        Ok(delivery)
    }

    /// Deletes a webhook and its delivery log. Admins of the account.
    pub async fn delete(pool: &PgPool, actor: &Actor, id: WebhookId) -> Result<()> {
        let mut tx = pool.begin().await?;
        let current = managed(&mut tx, actor, id, true).await?;
        sqlx::query!("DELETE FROM webhooks WHERE id = $1", id.0).execute(&mut *tx).await?;
        audit(
            &mut tx,
            Some(current.account_id),
            actor,
            "webhook.deleted",
            &id.to_string(),
            json!({ "url": current.url }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A webhook's deliveries, newest first, by cursor. Admins of the account.
    pub async fn deliveries(
        pool: &PgPool,
        actor: &Actor,
        id: WebhookId,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Page<Delivery>> {
        let limit = page_limit(limit)?;
        let before = cursor
            .map(|c| {
                c.parse::<i64>().map_err(|_| Error::invalid("cursor", "not a cursor returned by this API"))
            })
            .transpose()?;
        let mut conn = pool.acquire().await?;
        managed(&mut conn, actor, id, false).await?;
        let rows = sqlx::query_as!(
            Delivery,
            r#"SELECT id, webhook_id AS "webhook_id: WebhookId", event_id, topic, attempt, status_code, error,
                      next_attempt_at, delivered_at, created_at
               FROM webhook_deliveries WHERE webhook_id = $1 AND id < $2
               ORDER BY id DESC LIMIT $3"#,
            id.0,
            before.unwrap_or(i64::MAX),
            limit + 1
        )
        .fetch_all(&mut *conn)
        .await?;
        Ok(paginate(rows, limit, |d| d.id.to_string()))
    }

    /// Enqueues `event` for every active webhook of its account whose
    /// patterns match its topic, inside the caller's transaction (the
    /// notifications consumer's). Returns how many deliveries it added;
    /// a repeat adds none.
    pub async fn enqueue_deliveries(conn: &mut PgConnection, event: &Event) -> Result<u64> {
        let Some(account) = event.account_id else { return Ok(0) };
        if !crate::outbox::topic::delivered_to_webhooks(&event.topic) {
            return Ok(0);
        }
        let hooks =
            sqlx::query!("SELECT id, events FROM webhooks WHERE account_id = $1 AND active", account.0)
                .fetch_all(&mut *conn)
                .await?;
        let matching: Vec<uuid::Uuid> = hooks
            .into_iter()
            .filter(|hook| subscribes(&hook.events, &event.topic))
            .map(|hook| hook.id)
            .collect();
        if matching.is_empty() {
            return Ok(0);
        }
        let body = delivery_body(event);
        let added = sqlx::query!(
            "INSERT INTO webhook_deliveries (webhook_id, event_id, topic, payload)
             SELECT unnest($1::uuid[]), $2, $3, $4
             ON CONFLICT (webhook_id, event_id) DO NOTHING",
            &matching,
            event.event_id,
            &event.topic,
            &body
        )
        .execute(&mut *conn)
        .await?
        .rows_affected();
        Ok(added)
    }

    /// Which of `events` an active webhook of their account subscribes to
    /// (one read for them all): the events [`enqueue_deliveries`] would
    /// queue a delivery for, now.
    pub async fn subscribed(conn: &mut PgConnection, events: &[&Event]) -> Result<Vec<bool>> {
        let accounts: Vec<uuid::Uuid> = events.iter().filter_map(|e| e.account_id).map(|a| a.0).collect();
        if accounts.is_empty() {
            return Ok(vec![false; events.len()]);
        }
        let hooks = sqlx::query!(
            "SELECT account_id, events FROM webhooks WHERE account_id = ANY($1) AND active",
            &accounts
        )
        .fetch_all(&mut *conn)
        .await?;
        Ok(events
            .iter()
            .map(|e| {
                e.account_id.is_some_and(|account| {
                    crate::outbox::topic::delivered_to_webhooks(&e.topic)
                        && hooks.iter().any(|h| h.account_id == account.0 && subscribes(&h.events, &e.topic))
                })
            })
            .collect())
    }

    /// Whether a webhook with these event patterns gets `topic`.
    fn subscribes(patterns: &[String], topic: &str) -> bool {
        patterns.iter().any(|p| topic_matches(p, topic))
    }

    /// What a receiver gets: the event without the outbox's internal id.
    pub fn delivery_body(event: &Event) -> serde_json::Value {
        json!({ "event_id": event.event_id, "topic": event.topic, "account_id": event.account_id,
                "session_id": event.session_id, "created_at": event.created_at, "payload": event.payload })
    }

    /// A delivery the worker has reserved.
    #[derive(Debug, Clone)]
    pub struct DueDelivery {
        pub id: i64,
        pub webhook_id: WebhookId,
        pub event_id: uuid::Uuid,
        pub topic: String,
        pub payload: serde_json::Value,
        pub attempt: i32,
        pub url: String,
        /// The signing key as shown at creation (hex).
        pub secret_hex: String,
    }

    /// Reserves up to `limit` due deliveries of active webhooks (`FOR UPDATE
    /// SKIP LOCKED`, pushing their next attempt out by `lease_secs` so that a
    /// concurrent worker skips them and a crashed one's come back).
    pub async fn claim_due(pool: &PgPool, limit: i64, lease_secs: f64) -> Result<Vec<DueDelivery>> {
        Ok(sqlx::query_as!(
            DueDelivery,
            r#"WITH due AS (
                   SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id
                   WHERE d.next_attempt_at <= now() AND w.active
                   ORDER BY d.next_attempt_at, d.id LIMIT $1 FOR UPDATE OF d SKIP LOCKED)
               UPDATE webhook_deliveries d SET next_attempt_at = now() + make_interval(secs => $2)
               FROM due, webhooks w
               WHERE d.id = due.id AND w.id = d.webhook_id
               RETURNING d.id, d.webhook_id AS "webhook_id: WebhookId", d.event_id, d.topic, d.payload,
                         d.attempt, w.url, encode(w.secret, 'hex') AS "secret_hex!""#,
            limit,
            lease_secs
        )
        .fetch_all(pool)
        .await?)
    }

    /// Records a 2xx: delivered, and the webhook's failure streak ends.
    pub async fn record_success(pool: &PgPool, delivery: &DueDelivery, status: u16) -> Result<()> {
        let mut tx = pool.begin().await?;
        sqlx::query!(
            "UPDATE webhook_deliveries SET attempt = attempt + 1, status_code = $2, error = NULL,
                 delivered_at = now(), next_attempt_at = NULL WHERE id = $1",
            delivery.id,
            i32::from(status)
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!("UPDATE webhooks SET consecutive_failures = 0 WHERE id = $1", delivery.webhook_id.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records a failed attempt: schedules a retry with exponential backoff
    /// (or gives the delivery up after [`MAX_DELIVERY_ATTEMPTS`]), and after
    /// [`DISABLE_AFTER_FAILURES`] consecutive failures disables the webhook
    /// and audits it. Returns whether the webhook was disabled now.
    pub async fn record_failure(
        pool: &PgPool,
        delivery: &DueDelivery,
        status: Option<u16>,
        error: &str,
    ) -> Result<bool> {
        let attempt = delivery.attempt + 1;
        let next = (attempt < MAX_DELIVERY_ATTEMPTS).then(|| backoff_secs(attempt) as f64);
        let error: String = error.chars().take(1000).collect();
        let mut tx = pool.begin().await?;
        sqlx::query!(
            "UPDATE webhook_deliveries SET attempt = $2, status_code = $3, error = $4,
                 next_attempt_at = now() + make_interval(secs => $5) WHERE id = $1",
            delivery.id,
            attempt,
            status.map(i32::from),
            &error,
            next
        )
        .execute(&mut *tx)
        .await?;
        let hook = sqlx::query!(
            r#"UPDATE webhooks SET consecutive_failures = consecutive_failures + 1 WHERE id = $1
               RETURNING account_id AS "account_id: AccountId", consecutive_failures, active"#,
            delivery.webhook_id.0
        )
        .fetch_optional(&mut *tx)
        .await?;
        // Deleted meanwhile (its deliveries went with it): nothing to record.
        let Some(hook) = hook else { return Ok(false) };
        let (account, failures) = (hook.account_id, hook.consecutive_failures);
        let disable = hook.active && failures >= DISABLE_AFTER_FAILURES;
        if disable {
            sqlx::query!(
                "UPDATE webhooks SET active = false, disabled_at = now() WHERE id = $1",
                delivery.webhook_id.0
            )
            .execute(&mut *tx)
            .await?;
            audit(
                &mut tx,
                Some(account),
                &Actor::System,
                "webhook.disabled",
                &delivery.webhook_id.to_string(),
                json!({ "consecutive_failures": failures, "last_status": status, "last_error": error }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(disable)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn signatures_are_hmac_sha256_of_timestamp_dot_body() {
            let sig = sign("00ff", 1_700_000_000, b"{}");
            assert!(sig.starts_with("sha256=") && sig.len() == 7 + 64, "{sig}");
            assert_ne!(sign("00ff", 1_700_000_001, b"{}"), sig);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_like_amqp_and_are_validated() {
        assert!(topic_matches("#", "message.created"));
        assert!(topic_matches("session.*", "session.assigned"));
        assert!(!topic_matches("session.*", "message.created"));
        assert!(validate_events(&["session.*".into(), "#".into()]).is_ok());
        assert!(validate_events(&[]).is_err());
        assert!(validate_events(&["Session.Opened".into()]).is_err());
        assert!(validate_events(&["a..b".into()]).is_err());
        assert!(validate_url("https://example.com/hook").is_ok());
        for internal in [
            "http://127.0.0.1:8080/x",
            "http://localhost/x",
            "http://169.254.169.254/latest/meta-data",
            "https://10.1.2.3/",
            "http://[::1]:9000/",
            "http://user@192.168.0.10/",
            "http://metadata.google.internal/",
        ] {
            assert!(names_private_host(internal), "{internal}");
        }
        assert!(!names_private_host("https://hooks.example.com:8443/in"));
        // The forms a hand parser misreads: decimal IPv4, credentials with
        // `@`, a backslash, a trailing dot.
        for sneaky in [
            "http://2130706433/",
            "http://0x7f.1/",
            "http://evil.example@127.0.0.1/",
            "http://a@b@127.0.0.1:80/",
            "http://localhost./",
            "http://[::ffff:169.254.169.254]/",
            "http://[fd00:ec2::254]/latest",
            "http://100.64.0.1/",
        ] {
            assert!(names_private_host(sneaky), "{sneaky}");
        }
        assert!(validate_url("ftp://example.com").is_err());
        assert!(validate_url("http://").is_err());
    }

    #[test]
    fn internal_addresses_are_private_and_public_ones_are_not() {
        for ip in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(is_private_ip(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(!is_private_ip(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!([1, 2, 3, 4].map(backoff_secs), [1, 2, 4, 8]);
        assert_eq!(backoff_secs(40), MAX_BACKOFF_SECS);
    }
}
