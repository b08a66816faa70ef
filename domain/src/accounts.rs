//! Accounts: the enterprise clients that scope support types, agents and
//! customers. Only global admins (and the system) create them; everyone else
//! sees their own account only. An account's admins set its name, the origins
//! allowed to embed its chat widget, and the identity secret with which its
//! host site signs customer identities ([`crate::auth::Identity`]).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::*;

/// An enterprise client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    pub id: AccountId,
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Origins (`https://shop.example.com`) allowed to embed the chat widget.
    #[serde(default)]
    pub widget_origins: Vec<String>,
    /// Whether an identity secret is set. The secret itself is never part of
    /// an `Account`; rotating it (`POST /accounts/{id}/identity-secret`) shows it once.
    #[serde(default)]
    pub identity_verification: bool,
    /// An agent whose heartbeats stop for this long becomes away.
    #[serde(default)]
    pub presence_grace_secs: i32,
    /// The IANA zone the account's reports count days in.
    #[serde(default = "utc")]
    pub time_zone: String,
}

fn utc() -> String {
    "UTC".to_owned()
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAccount {
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateAccount {
    pub name: Option<String>,
    /// Replaces the whole list; each `https://host[:port]` (normalised).
    pub widget_origins: Option<Vec<String>>,
    /// Seconds without a heartbeat before an agent is set away (10-3600).
    pub presence_grace_secs: Option<i32>,
    /// An IANA zone (`Europe/Berlin`): the days of the account's reports.
    /// The rollups already written keep their days until
    /// `switchboard rollups rebuild --account SLUG` recounts them.
    pub time_zone: Option<String>,
}

/// At most this many widget origins per account.
pub const MAX_WIDGET_ORIGINS: usize = 20;

/// Parses a web origin, `scheme://host[:port]` with scheme `http` or `https`
/// and no path, query, credentials or wildcard, into its canonical lowercase
/// form (a single trailing `/` is dropped). The strict shape also makes the
/// value safe to put in a `Content-Security-Policy` header.
pub fn normalize_origin(input: &str) -> Result<String, String> {
    let lower = input.trim().to_ascii_lowercase();
    let (scheme, rest) = lower
        .split_once("://")
        .ok_or_else(|| format!("{input:?} is not an origin like https://shop.example.com"))?;
    if scheme != "http" && scheme != "https" {
        return Err(format!("{input:?}: the scheme must be http or https"));
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.contains(['/', '?', '#', '@', '*', '\\']) {
        return Err(format!("{input:?}: an origin has no path, query, user or wildcard"));
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (addr, after) =
            v6.split_once(']').ok_or_else(|| format!("{input:?}: unterminated IPv6 address"))?;
        addr.parse::<std::net::Ipv6Addr>().map_err(|_| format!("{input:?}: bad IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| format!("{input:?}: bad port"))?),
        };
        (format!("[{addr}]"), port)
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (rest.to_owned(), None),
        }
    };
    if !host.starts_with('[') {
        let valid_label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        };
        if host.is_empty() || host.len() > 253 || !host.split('.').all(valid_label) {
            return Err(format!("{input:?}: bad host name"));
        }
    }
    match port {
        None => Ok(format!("{scheme}://{host}")),
        Some(p) => {
            let n: u16 = p
                .parse()
                .ok()
                .filter(|n| *n > 0 && p.chars().all(|c| c.is_ascii_digit()))
                .ok_or_else(|| format!("{input:?}: bad port"))?;
            Ok(format!("{scheme}://{host}:{n}"))
        }
    }
}

/// Checks and canonicalises a list of widget origins (duplicates dropped,
/// order kept), naming the bad entry in the error.
pub fn validate_widget_origins(origins: &[String]) -> crate::Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(origins.len());
    for origin in origins {
        let origin = normalize_origin(origin).map_err(|m| crate::Error::invalid("widget_origins", m))?;
        if !out.contains(&origin) {
            out.push(origin);
        }
    }
    if out.len() > MAX_WIDGET_ORIGINS {
        return Err(crate::Error::invalid("widget_origins", format!("at most {MAX_WIDGET_ORIGINS} origins")));
    }
    Ok(out)
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::{
        Error, Result,
        actor::Actor,
        outbox::{self, topic},
        text::{required_text, validate_slug},
    };
    use rand::RngCore as _;
    use serde_json::json;
    use sqlx::PgPool;

    /// `query_as!` for [`Account`]: its columns (never the identity secret)
    /// between `$before` and `$after`.
    macro_rules! account_query {
        ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
            sqlx::query_as!(
                Account,
                $before
                    + r#"id AS "id: AccountId", slug::text AS "slug!", name, created_at, widget_origins,
                         identity_secret IS NOT NULL AS "identity_verification!", presence_grace_secs,
                         time_zone"#
                    + $after
                $(, $arg)*
            )
        };
    }

    /// Creates an account. Global admins and the system only.
    pub async fn create(pool: &PgPool, actor: &Actor, new: NewAccount) -> Result<Account> {
        if !actor.is_global() {
            return Err(Error::forbidden("only a global admin may create accounts"));
        }
        let slug = new.slug.trim();
        validate_slug("slug", slug)?;
        let name = required_text("name", &new.name, 200)?;

        let mut tx = pool.begin().await?;
        let account = account_query!(
            "INSERT INTO accounts (slug, name) VALUES ($1::text::citext, $2)
             ON CONFLICT (slug) DO NOTHING
             RETURNING ",
            "",
            slug,
            &name
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            Error::conflict("slug_taken", format!("an account with slug {slug:?} already exists"))
        })?;
        crate::agents::audit(
            &mut tx,
            Some(account.id),
            actor,
            "account.created",
            &account.id.to_string(),
            json!({ "slug": account.slug, "name": account.name }),
        )
        .await?;
        outbox::record(
            &mut tx,
            topic::CONFIG_CHANGED,
            Some(account.id),
            None,
            json!({ "entity": "account", "action": "created", "account_id": account.id,
                    "slug": account.slug, "by": actor.agent_id() }),
        )
        .await?;
        tx.commit().await?;
        Ok(account)
    }

    /// The accounts the caller may see: all of them for global callers,
    /// otherwise the caller's own.
    pub async fn list(pool: &PgPool, actor: &Actor) -> Result<Vec<Account>> {
        let own = match actor {
            _ if actor.is_global() => None,
            Actor::Agent(a) => match a.account_id {
                Some(own) => Some(own),
                // An admin without an account is global (handled above); any
                // other agent without one sees nothing.
                None => return Ok(Vec::new()),
            },
            // A customer token grants its session's messages and CSAT only.
            Actor::Customer(_) => return Err(Error::forbidden("customers cannot read accounts")),
            Actor::System => None,
        };
        let rows = account_query!(
            "SELECT ",
            " FROM accounts
             WHERE ($1::uuid IS NULL OR id = $1)
             ORDER BY name, id",
            own.map(|a| a.0)
        )
        .fetch_all(pool)
        .await?;
        Ok(rows)
    }

    /// The accounts the caller administers: every one for a global admin,
    /// their own for an account's admin; "forbidden" to everyone else. The
    /// admin console's list.
    pub async fn administered(pool: &PgPool, actor: &Actor) -> Result<Vec<Account>> {
        if !actor.is_global() {
            let own = actor
                .agent()
                .and_then(|a| a.account_id)
                .ok_or_else(|| Error::forbidden("only admins manage accounts"))?;
            actor.require_admin_of(own, "the account's settings")?;
        }
        list(pool, actor).await
    }

    /// One account whose settings the caller administers: "not found"
    /// outside the caller's account, "forbidden" to its non-admins.
    pub async fn get_administered(pool: &PgPool, actor: &Actor, id: AccountId) -> Result<Account> {
        let account = get(pool, actor, id).await?;
        actor.require_admin_of(id, "the account's settings")?;
        Ok(account)
    }

    /// One account, if the caller may see it; otherwise "not found".
    pub async fn get(pool: &PgPool, actor: &Actor, id: AccountId) -> Result<Account> {
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("customers cannot read accounts"));
        }
        if !actor.in_account(id) {
            return Err(Error::not_found("account"));
        }
        account_query!("SELECT ", " FROM accounts WHERE id = $1", id.0)
            .fetch_optional(pool)
            .await?
            .ok_or_else(|| Error::not_found("account"))
    }

    /// Changes an account's name and widget origins. Admins of the account.
    pub async fn update(
        pool: &PgPool,
        actor: &Actor,
        id: AccountId,
        changes: UpdateAccount,
    ) -> Result<Account> {
        actor.require_admin_of(id, "account")?;
        let name = changes.name.as_deref().map(|n| required_text("name", n, 200)).transpose()?;
        let origins = changes.widget_origins.as_deref().map(validate_widget_origins).transpose()?;
        if changes.presence_grace_secs.is_some_and(|g| !(10..=3600).contains(&g)) {
            return Err(Error::invalid("presence_grace_secs", "must be between 10 and 3600 seconds"));
        }
        let zone = changes.time_zone.as_deref().map(str::trim);
        if let Some(z) = zone {
            crate::reports::parse_zone(z)?;
        }

        let mut tx = pool.begin().await?;
        let current = account_query!("SELECT ", " FROM accounts WHERE id = $1 FOR UPDATE", id.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::not_found("account"))?;
        let updated = account_query!(
            "UPDATE accounts SET name = COALESCE($2, name), widget_origins = COALESCE($3, widget_origins),
                    presence_grace_secs = COALESCE($4, presence_grace_secs), time_zone = COALESCE($5, time_zone)
             WHERE id = $1
             RETURNING ",
            "",
            id.0,
            name.as_deref(),
            origins.as_deref(),
            changes.presence_grace_secs,
            zone
        )
        .fetch_one(&mut *tx)
        .await?;
        if updated != current {
            crate::agents::audit(
                &mut tx,
                Some(id),
                actor,
                "account.updated",
                &id.to_string(),
                json!({ "old": { "name": current.name, "widget_origins": current.widget_origins,
                                 "presence_grace_secs": current.presence_grace_secs, "time_zone": current.time_zone },
                        "new": { "name": updated.name, "widget_origins": updated.widget_origins,
                                 "presence_grace_secs": updated.presence_grace_secs, "time_zone": updated.time_zone } }),
            )
            .await?;
            outbox::record(
                &mut tx,
                topic::CONFIG_CHANGED,
                Some(id),
                None,
                json!({ "entity": "account", "action": "updated", "account_id": id, "by": actor.agent_id() }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(updated)
    }

    /// Sets a new random identity secret (32 bytes) and returns it as
    /// lowercase hex. It is shown this once; the previous secret stops
    /// working at once. Admins of the account.
    pub async fn rotate_identity_secret(pool: &PgPool, actor: &Actor, id: AccountId) -> Result<String> {
        actor.require_admin_of(id, "account")?;
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        set_identity_secret(pool, actor, id, Some(&secret[..]), "identity_secret.rotated").await?;
        Ok(hex::encode(secret))
    }

    /// Removes the identity secret: chats can no longer carry a verified
    /// identity. Admins of the account.
    pub async fn disable_identity_verification(
        pool: &PgPool,
        actor: &Actor,
        id: AccountId,
    ) -> Result<Account> {
        actor.require_admin_of(id, "account")?;
        set_identity_secret(pool, actor, id, None, "identity_secret.removed").await
    }

    async fn set_identity_secret(
        pool: &PgPool,
        actor: &Actor,
        id: AccountId,
        secret: Option<&[u8]>,
        action: &str,
    ) -> Result<Account> {
        let mut tx = pool.begin().await?;
        let account = account_query!(
            "UPDATE accounts SET identity_secret = $2 WHERE id = $1 RETURNING ",
            "",
            id.0,
            secret
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found("account"))?;
        crate::agents::audit(&mut tx, Some(id), actor, action, &id.to_string(), json!({})).await?;
        outbox::record(
            &mut tx,
            topic::CONFIG_CHANGED,
            Some(id),
            None,
            json!({ "entity": "account", "action": action, "account_id": id, "by": actor.agent_id() }),
        )
        .await?;
        tx.commit().await?;
        Ok(account)
    }

    /// The origins allowed to embed the chat page of a support type (its
    /// account's widget origins); empty for an unknown type. No actor: the
    /// chat page's `frame-ancestors` header is built from it.
    pub async fn widget_origins_for_type(pool: &PgPool, slug: &str) -> Result<Vec<String>> {
        let origins = sqlx::query_scalar!(
            "SELECT a.widget_origins FROM support_types t JOIN accounts a ON a.id = t.account_id
             WHERE t.slug = $1::text::citext",
            slug.trim()
        )
        .fetch_optional(pool)
        .await?;
        Ok(origins.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        let ok = |s: &str| normalize_origin(s).expect(s);
        assert_eq!(ok("https://Shop.Example.com"), "https://shop.example.com");
        assert_eq!(ok(" https://shop.example.com/ "), "https://shop.example.com");
        assert_eq!(ok("http://localhost:3000"), "http://localhost:3000");
        assert_eq!(ok("https://[::1]:8443"), "https://[::1]:8443");
        assert_eq!(ok("https://10.0.0.5"), "https://10.0.0.5");
        for bad in [
            "shop.example.com",
            "ftp://shop.example.com",
            "javascript://x",
            "https://shop.example.com/path",
            "https://shop.example.com?q",
            "https://user@shop.example.com",
            "https://*.example.com",
            "https://shop.example.com:0",
            "https://shop.example.com:99999",
            "https://shop.example.com:",
            "https://",
            "https://shop..example.com",
            "https://shop.example.com; script-src *",
            "https://exa mple.com",
            "https://-bad.example.com",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn origin_lists_are_deduplicated_bounded_and_name_the_bad_entry() {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            validate_widget_origins(&list(&["https://a.example", "https://A.example/", "http://b.example"]))
                .expect("ok"),
            list(&["https://a.example", "http://b.example"])
        );
        let err =
            validate_widget_origins(&list(&["https://a.example", "https://a.example/x"])).expect_err("bad");
        assert!(
            matches!(&err, crate::Error::Invalid { field, message }
            if field == "widget_origins" && message.contains("https://a.example/x")),
            "{err:?}"
        );
        let many: Vec<String> = (0..21).map(|i| format!("https://s{i}.example")).collect();
        assert!(validate_widget_origins(&many).is_err());
        assert!(validate_widget_origins(&many[..20]).is_ok());
    }
}
