//! Authentication of the people who use Switchboard in a browser.
//!
//! **Agents and admins** log in with e-mail and password ([`login`]) and get a
//! server-side session: the cookie holds `ss_` + 32 random bytes (base64url),
//! the database only its SHA-256 (`auth_sessions`). A session ends after
//! [`SESSION_IDLE`] without use, after [`SESSION_MAX`] in any case, at
//! [`logout`], when the agent is deactivated, and when the password changes
//! ([`change_password`] ends every other session of the agent).
//!
//! **Customers** open a chat anonymously ([`open_chat`]) and get a token,
//! `sc_` + 32 random bytes, that grants access to that one session only
//! ([`authenticate_customer`]). A host site may vouch for who the customer is
//! ([`Identity`]): it signs `"{external_id}:{email}"` with the account's
//! identity secret (HMAC-SHA256, lowercase hex), and the session then links to
//! the known customer, with their history and their preferred agent.
//!
//! Login attempts, chat opening and chat messages are rate limited
//! ([`crate::ratelimit`]). Bots authenticate with API tokens ([`crate::tokens`]).

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{actor::AgentActor, agents::Agent, sessions::Session, types::*};

/// A browser session ends after this long without a request.
pub const SESSION_IDLE: Duration = Duration::from_secs(12 * 3600);
/// A browser session ends this long after login, however busy.
pub const SESSION_MAX: Duration = Duration::from_secs(7 * 24 * 3600);
/// `last_seen_at` is written at most this often per session.
pub const LAST_SEEN_RESOLUTION: Duration = Duration::from_secs(60);
/// How long a customer's chat token is valid.
pub const CUSTOMER_TOKEN_TTL: Duration = Duration::from_secs(30 * 24 * 3600);

/// Prefix of a session cookie value.
pub const SESSION_TOKEN_PREFIX: &str = "ss_";
/// Prefix of a customer chat token.
pub const CUSTOMER_TOKEN_PREFIX: &str = "sc_";
/// Random bytes per session cookie and customer token (256 bits).
pub const TOKEN_BYTES: usize = 32;

/// Login attempts per minute, per e-mail address and per client IP.
pub const LOGIN_LIMIT: u32 = 10;
/// Chats opened per minute per client IP.
pub const CHAT_OPEN_LIMIT: u32 = 10;
/// Customer messages per minute per chat session.
pub const CHAT_MESSAGE_SESSION_LIMIT: u32 = 30;
/// Customer messages per minute per client IP.
pub const CHAT_MESSAGE_IP_LIMIT: u32 = 120;
/// Current-password checks per minute per agent (a stolen session must not
/// become a password oracle).
pub const PASSWORD_CHECK_LIMIT: u32 = 10;
/// The window of all the limits above.
pub const LIMIT_WINDOW: Duration = Duration::from_secs(60);

/// The one answer to a failed login, whether the address is unknown, the
/// password wrong, or the agent unable to log in.
pub const WRONG_CREDENTIALS: &str = "wrong e-mail address or password";

/// What [`login`] needs. `ip` and `user_agent` come from the request, not
/// from the client's JSON.
#[derive(Clone, Default)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    /// The session cookie the browser already had, if any: it is ended on
    /// login, so that a session id planted before login is never promoted
    /// (rotation).
    pub replace_session: Option<String>,
}

impl std::fmt::Debug for LoginInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginInput")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .field("ip", &self.ip)
            .field("user_agent", &self.user_agent)
            .field("replace_session", &self.replace_session.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Clone, Serialize)]
pub struct LoginOutcome {
    /// The new session cookie value. Not stored; cannot be shown again.
    pub token: String,
    pub agent: Agent,
    /// The absolute expiry ([`SESSION_MAX`] after login). The session also
    /// ends after [`SESSION_IDLE`] without use.
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for LoginOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginOutcome")
            .field("token", &"<redacted>")
            .field("agent", &self.agent)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The agent behind a valid session cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionAgent {
    pub actor: AgentActor,
    pub display_name: String,
    pub email: String,
    /// The session's absolute expiry.
    pub expires_at: DateTime<Utc>,
}

/// A host site's statement of who the customer is, signed with the account's
/// identity secret: `signature` is the lowercase hex HMAC-SHA256 of
/// `"{external_id}:{email}"` (an absent email is the empty string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Identity {
    /// The host site's own id for the customer.
    pub external_id: String,
    #[serde(default)]
    pub email: Option<String>,
    /// Lowercase hex HMAC-SHA256 of `"{external_id}:{email}"` with the account's identity secret.
    pub signature: String,
}

impl Identity {
    /// The exact bytes the host site signs.
    pub fn signed_message(external_id: &str, email: Option<&str>) -> String {
        format!("{external_id}:{}", email.unwrap_or(""))
    }
}

/// What a customer sends to open a chat. Without an `identity`, `name` and
/// `email` are taken as given (unverified) for a new customer record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenChat {
    pub name: Option<String>,
    /// Ignored when `identity` is present (its signed email applies).
    pub email: Option<String>,
    /// The customer's first message.
    pub message: Option<String>,
    pub identity: Option<Identity>,
    /// The client's address, from the request; never from the client's JSON.
    #[serde(skip)]
    pub ip: Option<IpAddr>,
}

#[derive(Clone, Serialize)]
pub struct OpenedChat {
    pub session: Session,
    pub customer_id: CustomerId,
    /// The customer's token for this session. Not stored; cannot be shown again.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for OpenedChat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedChat")
            .field("session", &self.session)
            .field("customer_id", &self.customer_id)
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Whether `token` has the shape of a token with `prefix` (the prefix, then 43
/// base64url characters), so that junk is rejected without a query.
pub fn well_formed(token: &str, prefix: &str) -> bool {
    let encoded_len = (TOKEN_BYTES * 4).div_ceil(3);
    token.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == encoded_len && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::{
        Error, Result,
        actor::{Actor, CustomerActor},
        agents::{self, audit, password, validate_password},
        ratelimit::{self, ip_key},
        sessions::{self, CustomerInput, OpenSession},
        text::required_text,
    };
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    use hmac::{Hmac, Mac as _};
    use rand::RngCore as _;
    use serde_json::json;
    use sha2::{Digest as _, Sha256};
    use sqlx::{PgConnection, PgPool};

    /// An argon2id hash (current parameters) of a random password nobody
    /// knows. A login for an unknown address verifies against it, so that it
    /// takes as long as one with a wrong password.
    const DUMMY_HASH: &str =
        "$argon2id$v=19$m=47104,t=1,p=1$ASUao0X4cFMobNbCQGPZ8A$F5pUuyRtng4e9bJV77oZaBq4BmHJp6oyNqiU6+bXtj0";

    /// Longest stored user agent, in characters.
    const MAX_USER_AGENT_CHARS: usize = 500;

    pub(crate) fn digest(token: &str) -> Vec<u8> {
        Sha256::digest(token.as_bytes()).to_vec()
    }

    fn generate(prefix: &str) -> String {
        let mut bytes = [0u8; TOKEN_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    fn secs(d: Duration) -> f64 {
        d.as_secs_f64()
    }

    fn user_agent(ua: Option<String>) -> Option<String> {
        ua.map(|ua| ua.chars().filter(|c| !c.is_control()).take(MAX_USER_AGENT_CHARS).collect::<String>())
            .filter(|ua| !ua.is_empty())
    }

    fn wrong_credentials() -> Error {
        Error::unauthenticated(WRONG_CREDENTIALS)
    }

    /// Writes an audit row whose actor may be absent (failed logins).
    async fn audit_raw(
        conn: &mut PgConnection,
        account: Option<AccountId>,
        actor: Option<AgentId>,
        action: &str,
        target: Option<String>,
        details: serde_json::Value,
    ) -> Result<()> {
        sqlx::query!(
            "INSERT INTO audit_log (account_id, actor_id, action, target, details) VALUES ($1, $2, $3, $4, $5)",
            account.map(|a| a.0),
            actor.map(|a| a.0),
            action,
            target,
            details
        )
        .execute(conn)
        .await?;
        Ok(())
    }

    // ---------------------------------------------------------------- agents

    /// Logs an agent in with e-mail and password and starts a browser session.
    ///
    /// Every attempt counts against [`LOGIN_LIMIT`] per address and per IP
    /// before anything else is checked. An unknown address, a wrong password,
    /// a bot, a deactivated agent and an agent without a password all get the
    /// same [`Error::Unauthenticated`] after the same work (one argon2id
    /// verification), and an audit row `login.failed`.
    pub async fn login(pool: &PgPool, input: LoginInput) -> Result<LoginOutcome> {
        let email = input.email.trim().to_lowercase();
        let ip = input.ip;
        let ip_text = ip.map(|ip| ip.to_string());
        let email_key = format!("login:email:{email}");
        let ip_key = ip.map(|ip| format!("login:ip:{}", ip_key(ip)));
        let mut keys = vec![(email_key.as_str(), LOGIN_LIMIT)];
        if let Some(k) = &ip_key {
            keys.push((k.as_str(), LOGIN_LIMIT));
        }
        ratelimit::hit_all(pool, &keys, LIMIT_WINDOW).await?;

        let found = sqlx::query!(
            r#"SELECT id AS "id: AgentId", account_id AS "account_id: AccountId", role AS "role: Role",
                      password_hash, deactivated_at IS NOT NULL AS "deactivated!"
               FROM agents WHERE email = $1::text::citext"#,
            email
        )
        .fetch_optional(pool)
        .await?;
        let usable = found
            .as_ref()
            .filter(|a| a.role != Role::Bot && !a.deactivated)
            .and_then(|a| a.password_hash.clone().map(|h| (a.id, a.account_id, a.role, h)));
        let hash = usable.as_ref().map_or(DUMMY_HASH.to_owned(), |u| u.3.clone());
        let matches = password::verify_async(input.password, hash).await;

        let Some((id, account_id, role, verified_hash)) = usable.filter(|_| matches) else {
            let mut conn = pool.acquire().await?;
            audit_raw(
                &mut conn,
                found.as_ref().and_then(|a| a.account_id),
                None,
                "login.failed",
                found.as_ref().map(|a| a.id.to_string()),
                json!({ "email": email, "ip": ip_text }),
            )
            .await?;
            return Err(wrong_credentials());
        };

        let token = generate(SESSION_TOKEN_PREFIX);
        let mut tx = pool.begin().await?;
        // The password or the agent may have changed while the hash was
        // checked; the row lock orders this login against change_password.
        let still_valid = sqlx::query_scalar!(
            r#"SELECT (password_hash = $2 AND deactivated_at IS NULL AND role <> 'bot') AS "ok!"
               FROM agents WHERE id = $1 FOR SHARE"#,
            id.0,
            verified_hash
        )
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or(false);
        if !still_valid {
            return Err(wrong_credentials());
        }
        let mut rotated = false;
        if let Some(old) = input.replace_session.as_deref().filter(|t| well_formed(t, SESSION_TOKEN_PREFIX)) {
            rotated = sqlx::query!("DELETE FROM auth_sessions WHERE id_hash = $1", digest(old))
                .execute(&mut *tx)
                .await?
                .rows_affected()
                > 0;
        }
        let expires_at = sqlx::query_scalar!(
            "INSERT INTO auth_sessions (id_hash, agent_id, expires_at, ip, user_agent)
             VALUES ($1, $2, now() + make_interval(secs => $3), $4::text::inet, $5)
             RETURNING expires_at",
            digest(&token),
            id.0,
            secs(SESSION_MAX),
            ip_text,
            user_agent(input.user_agent)
        )
        .fetch_one(&mut *tx)
        .await?;
        let actor = Actor::Agent(AgentActor { id, account_id, role });
        audit(
            &mut tx,
            account_id,
            &actor,
            "login.succeeded",
            &id.to_string(),
            json!({ "ip": ip_text, "replaced_session": rotated }),
        )
        .await?;
        let agent = agents::load(&mut tx, id, false).await?;
        tx.commit().await?;
        Ok(LoginOutcome { token, agent, expires_at })
    }

    /// The agent behind a session cookie, or `None` when the cookie is
    /// malformed, unknown, idle for [`SESSION_IDLE`], past [`SESSION_MAX`], or
    /// its agent deactivated. Records the use at most once a minute.
    pub async fn authenticate_session(pool: &PgPool, token: &str) -> Result<Option<SessionAgent>> {
        if !well_formed(token, SESSION_TOKEN_PREFIX) {
            return Ok(None);
        }
        let row = sqlx::query!(
            r#"WITH hit AS (
                   SELECT s.id_hash, s.last_seen_at, s.expires_at, a.id, a.account_id, a.role,
                          a.display_name, a.email::text AS email
                   FROM auth_sessions s JOIN agents a ON a.id = s.agent_id
                   WHERE s.id_hash = $1 AND s.expires_at > now()
                     AND s.last_seen_at > now() - make_interval(secs => $2)
                     AND a.deactivated_at IS NULL AND a.role <> 'bot'),
               touch AS (
                   UPDATE auth_sessions SET last_seen_at = now()
                   WHERE id_hash IN (SELECT id_hash FROM hit
                                     WHERE last_seen_at < now() - make_interval(secs => $3)))
               SELECT id AS "id!: AgentId", account_id AS "account_id: AccountId", role AS "role!: Role",
                      display_name AS "display_name!", email AS "email!", expires_at AS "expires_at!"
               FROM hit"#,
            digest(token),
            secs(SESSION_IDLE),
            secs(LAST_SEEN_RESOLUTION)
        )
        .fetch_optional(pool)
        .await?;
        Ok(row.map(|r| SessionAgent {
            actor: AgentActor { id: r.id, account_id: r.account_id, role: r.role },
            display_name: r.display_name,
            email: r.email,
            expires_at: r.expires_at,
        }))
    }

    /// Ends the session of this cookie on the server. Unknown or malformed
    /// cookies are ignored.
    pub async fn logout(pool: &PgPool, token: &str) -> Result<()> {
        if !well_formed(token, SESSION_TOKEN_PREFIX) {
            return Ok(());
        }
        let mut tx = pool.begin().await?;
        let gone = sqlx::query!(
            r#"WITH gone AS (DELETE FROM auth_sessions WHERE id_hash = $1 RETURNING agent_id)
               SELECT a.id AS "id: AgentId", a.account_id AS "account_id: AccountId", a.role AS "role: Role"
               FROM gone JOIN agents a ON a.id = gone.agent_id"#,
            digest(token)
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(a) = gone {
            let actor = Actor::Agent(AgentActor { id: a.id, account_id: a.account_id, role: a.role });
            audit(&mut tx, a.account_id, &actor, "logout", &a.id.to_string(), json!({})).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// An agent whose password or sessions `actor` manages (the agent
    /// themself, or an admin of the agent's account), as [`managed`] found it.
    struct Managed {
        account_id: Option<AccountId>,
        role: Role,
        password_hash: Option<String>,
        by_self: bool,
    }

    /// Loads the agent for [`Managed`]: "not found" outside the actor's
    /// scope, "forbidden" for anyone else inside it.
    async fn managed(conn: &mut PgConnection, actor: &Actor, agent: AgentId, what: &str) -> Result<Managed> {
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("customers have no agent account"));
        }
        let row = sqlx::query!(
            r#"SELECT account_id AS "account_id: AccountId", role AS "role: Role", password_hash
               FROM agents WHERE id = $1"#,
            agent.0
        )
        .fetch_optional(&mut *conn)
        .await?
        .filter(|a| agents::can_see(actor, a.account_id))
        .ok_or_else(|| Error::not_found("agent"))?;
        let by_self = actor.agent_id() == Some(agent);
        if !by_self && !agents::administers(actor, row.account_id) {
            return Err(Error::forbidden(format!(
                "only the agent themself or an admin of their account may {what}"
            )));
        }
        Ok(Managed { account_id: row.account_id, role: row.role, password_hash: row.password_hash, by_self })
    }

    /// Sets an agent's password and ends every other browser session of that
    /// agent (all of them but `keep_session`, the caller's own cookie).
    ///
    /// The agent themself must give `current_password` (a wrong one is
    /// [`Error::Unauthenticated`], and the checks are rate limited); an admin
    /// of the agent's account sets it without. Bots have no password.
    pub async fn change_password(
        pool: &PgPool,
        actor: &Actor,
        agent: AgentId,
        current_password: Option<String>,
        new_password: String,
        keep_session: Option<&str>,
    ) -> Result<()> {
        let target = {
            let mut conn = pool.acquire().await?;
            managed(&mut conn, actor, agent, "change their password").await?
        };
        if target.role == Role::Bot {
            return Err(Error::invalid("password", "bots sign in with API tokens, not passwords"));
        }
        validate_password(&new_password)?;
        if target.by_self {
            let current = current_password
                .filter(|p| !p.is_empty())
                .ok_or_else(|| Error::invalid("current_password", "enter your current password"))?;
            ratelimit::hit(pool, &format!("password:agent:{agent}"), PASSWORD_CHECK_LIMIT, LIMIT_WINDOW)
                .await?;
            let hash = target.password_hash.clone().unwrap_or_else(|| DUMMY_HASH.to_owned());
            let matches = password::verify_async(current, hash).await && target.password_hash.is_some();
            if !matches {
                let mut conn = pool.acquire().await?;
                audit(
                    &mut conn,
                    target.account_id,
                    actor,
                    "password.change_failed",
                    &agent.to_string(),
                    json!({}),
                )
                .await?;
                return Err(Error::unauthenticated("the current password is wrong"));
            }
        }
        // Hashed before the transaction: no connection is held while the CPU works.
        let new_hash = password::hash_async(new_password).await?;

        let mut tx = pool.begin().await?;
        // When the agent proved the current password, it must still be the
        // current one (no concurrent change slipped in between).
        let updated = sqlx::query!(
            "UPDATE agents SET password_hash = $2, password_changed_at = now()
             WHERE id = $1 AND (NOT $3 OR password_hash IS NOT DISTINCT FROM $4)",
            agent.0,
            new_hash,
            target.by_self,
            target.password_hash
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(Error::conflict("retry", "the password changed meanwhile; try again"));
        }
        let keep = keep_session.filter(|t| well_formed(t, SESSION_TOKEN_PREFIX)).map(digest);
        let ended = sqlx::query!(
            "DELETE FROM auth_sessions WHERE agent_id = $1 AND ($2::bytea IS NULL OR id_hash <> $2)",
            agent.0,
            keep
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        audit(
            &mut tx,
            target.account_id,
            actor,
            "password.changed",
            &agent.to_string(),
            json!({ "by_admin": !target.by_self, "sessions_ended": ended }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Logs an agent out everywhere: ends all their browser sessions. The
    /// agent themself or an admin of their account. Returns how many ended.
    pub async fn end_sessions(pool: &PgPool, actor: &Actor, agent: AgentId) -> Result<u64> {
        let mut tx = pool.begin().await?;
        let target = managed(&mut tx, actor, agent, "end their sessions").await?;
        let ended = sqlx::query!("DELETE FROM auth_sessions WHERE agent_id = $1", agent.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        audit(
            &mut tx,
            target.account_id,
            actor,
            "sessions.ended",
            &agent.to_string(),
            json!({ "sessions_ended": ended }),
        )
        .await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// Deletes browser sessions past their idle or absolute expiry and
    /// customer tokens past theirs (revoked ones a day after revocation).
    /// Returns how many rows went.
    pub async fn prune(pool: &PgPool) -> Result<u64> {
        let sessions = sqlx::query!(
            "DELETE FROM auth_sessions
             WHERE expires_at <= now() OR last_seen_at <= now() - make_interval(secs => $1)",
            secs(SESSION_IDLE)
        )
        .execute(pool)
        .await?
        .rows_affected();
        let tokens = sqlx::query!(
            "DELETE FROM customer_tokens WHERE expires_at <= now() OR revoked_at <= now() - interval '1 day'"
        )
        .execute(pool)
        .await?
        .rows_affected();
        Ok(sessions + tokens)
    }

    // ------------------------------------------------------------- customers

    type HmacSha256 = Hmac<Sha256>;

    /// The lowercase hex HMAC-SHA256 a host site sends in [`Identity`]: the
    /// reference implementation of the signing side.
    pub fn sign_identity(secret: &[u8], external_id: &str, email: Option<&str>) -> Result<String> {
        let mut mac = HmacSha256::new_from_slice(secret).map_err(|e| Error::internal("hmac key", e))?;
        mac.update(Identity::signed_message(external_id, email).as_bytes());
        Ok(hex::encode(mac.finalize().into_bytes()))
    }

    /// Checks an identity's fields and its signature (in constant time).
    fn verify_identity(secret: &[u8], identity: &Identity) -> Result<()> {
        let bad = || Error::invalid("identity", "the identity signature does not match");
        let external_id = required_text("identity.external_id", &identity.external_id, 200)?;
        if external_id != identity.external_id {
            return Err(Error::invalid("identity.external_id", "must not have surrounding whitespace"));
        }
        if let Some(email) = &identity.email {
            crate::text::validate_email("identity.email", email)?;
            // Keeps "{external_id}:{email}" unambiguous.
            if email.contains(':') {
                return Err(Error::invalid("identity.email", format!("{email:?} is not an e-mail address")));
            }
        }
        let signature = hex::decode(identity.signature.trim()).map_err(|_| bad())?;
        let mut mac = HmacSha256::new_from_slice(secret).map_err(|e| Error::internal("hmac key", e))?;
        mac.update(Identity::signed_message(&identity.external_id, identity.email.as_deref()).as_bytes());
        mac.verify_slice(&signature).map_err(|_| bad())
    }

    /// Opens a chat for a customer on the chat page of `support_type_slug`
    /// and returns the customer's token for it.
    ///
    /// Rate limited per client IP ([`CHAT_OPEN_LIMIT`]). With a valid
    /// [`Identity`] the session links to the account's customer with that
    /// external id (created if new), so their history and preferred agent
    /// apply; without one, a new customer is created from the unverified name
    /// and email. The session and the token are written in one transaction.
    pub async fn open_chat(pool: &PgPool, support_type_slug: &str, input: OpenChat) -> Result<OpenedChat> {
        if let Some(ip) = input.ip {
            ratelimit::hit(pool, &format!("chat-open:ip:{}", ip_key(ip)), CHAT_OPEN_LIMIT, LIMIT_WINDOW)
                .await?;
        }
        let slug = required_text("support_type", support_type_slug, 63)?;
        let customer = match input.identity {
            Some(identity) => {
                let secret = sqlx::query_scalar!(
                    "SELECT a.identity_secret FROM support_types t JOIN accounts a ON a.id = t.account_id
                     WHERE t.slug = $1::text::citext",
                    slug
                )
                .fetch_optional(pool)
                .await?
                .ok_or_else(|| Error::invalid("support_type", format!("no support type {slug:?}")))?
                .ok_or_else(|| {
                    Error::invalid("identity", "identity verification is not configured for this account")
                })?;
                verify_identity(&secret, &identity)?;
                CustomerInput {
                    name: input.name,
                    email: identity.email,
                    external_ref: Some(identity.external_id),
                }
            }
            None => CustomerInput { name: input.name, email: input.email, external_ref: None },
        };

        let token = generate(CUSTOMER_TOKEN_PREFIX);
        let mut tx = pool.begin().await?;
        let (session, customer_id) = sessions::open_in(
            &mut tx,
            &Actor::System,
            OpenSession {
                support_type: slug,
                customer,
                message: input.message,
                project_ref: None,
                priority: 0,
            },
        )
        .await?;
        let expires_at = sqlx::query_scalar!(
            "INSERT INTO customer_tokens (token_hash, session_id, customer_id, expires_at)
             VALUES ($1, $2, $3, now() + make_interval(secs => $4))
             RETURNING expires_at",
            digest(&token),
            session.id.0,
            customer_id.0,
            secs(CUSTOMER_TOKEN_TTL)
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(OpenedChat { session, customer_id, token, expires_at })
    }

    /// The customer behind a chat token, bound to its one session; `None`
    /// when the token is malformed, unknown, expired or revoked.
    pub async fn authenticate_customer(pool: &PgPool, token: &str) -> Result<Option<CustomerActor>> {
        if !well_formed(token, CUSTOMER_TOKEN_PREFIX) {
            return Ok(None);
        }
        let row = sqlx::query!(
            r#"SELECT t.customer_id AS "customer_id: CustomerId", t.session_id AS "session_id: SessionId",
                      s.account_id AS "account_id: AccountId"
               FROM customer_tokens t JOIN sessions s ON s.id = t.session_id
               WHERE t.token_hash = $1 AND t.expires_at > now() AND t.revoked_at IS NULL"#,
            digest(token)
        )
        .fetch_optional(pool)
        .await?;
        Ok(row.map(|r| CustomerActor {
            customer_id: r.customer_id,
            session_id: r.session_id,
            account_id: r.account_id,
        }))
    }

    /// Revokes a customer's chat token (the customer leaves the chat for
    /// good). Unknown or malformed tokens are ignored.
    pub async fn revoke_customer_token(pool: &PgPool, token: &str) -> Result<()> {
        if well_formed(token, CUSTOMER_TOKEN_PREFIX) {
            sqlx::query!(
                "UPDATE customer_tokens SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL",
                digest(token)
            )
            .execute(pool)
            .await?;
        }
        Ok(())
    }

    /// Counts one customer message against the limits of its session
    /// ([`CHAT_MESSAGE_SESSION_LIMIT`]) and of the client IP
    /// ([`CHAT_MESSAGE_IP_LIMIT`]).
    pub async fn chat_message_limits(pool: &PgPool, actor: &CustomerActor, ip: Option<IpAddr>) -> Result<()> {
        let session_key = format!("chat-msg:session:{}", actor.session_id);
        let ip_key = ip.map(|ip| format!("chat-msg:ip:{}", ip_key(ip)));
        let mut keys = vec![(session_key.as_str(), CHAT_MESSAGE_SESSION_LIMIT)];
        if let Some(k) = &ip_key {
            keys.push((k.as_str(), CHAT_MESSAGE_IP_LIMIT));
        }
        ratelimit::hit_all(pool, &keys, LIMIT_WINDOW).await
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use argon2::password_hash::PasswordHash;

        #[test]
        fn the_dummy_hash_uses_the_current_parameters() {
            let parsed = PasswordHash::new(DUMMY_HASH).expect("PHC string");
            assert_eq!(parsed.algorithm.as_str(), "argon2id");
            let param = |name: &str| parsed.params.get_decimal(name);
            assert_eq!(param("m"), Some(password::M_COST_KIB));
            assert_eq!(param("t"), Some(password::T_COST));
            assert_eq!(param("p"), Some(password::P_COST));
        }

        #[test]
        fn tokens_are_prefixed_base64url_of_32_bytes() {
            let token = generate(SESSION_TOKEN_PREFIX);
            assert!(well_formed(&token, SESSION_TOKEN_PREFIX));
            assert!(!well_formed(&token, CUSTOMER_TOKEN_PREFIX));
            let rest = token.strip_prefix(SESSION_TOKEN_PREFIX).expect("prefix");
            assert_eq!(URL_SAFE_NO_PAD.decode(rest).expect("base64url").len(), TOKEN_BYTES);
            assert_ne!(generate(SESSION_TOKEN_PREFIX), token);
            assert!(!well_formed("ss_short", SESSION_TOKEN_PREFIX));
            assert!(!well_formed(&format!("{token}="), SESSION_TOKEN_PREFIX));
        }

        #[test]
        fn identities_verify_only_with_the_right_secret_and_fields() {
            let secret = [7u8; 32];
            let sig = sign_identity(&secret, "cust-42", Some("ana@example.com")).expect("sign");
            assert_eq!(sig.len(), 64);
            let id = |ext: &str, email: Option<&str>, sig: &str| Identity {
                external_id: ext.into(),
                email: email.map(Into::into),
                signature: sig.into(),
            };
            assert!(verify_identity(&secret, &id("cust-42", Some("ana@example.com"), &sig)).is_ok());
            assert!(
                verify_identity(&secret, &id("cust-42", Some("ana@example.com"), &sig.to_uppercase()))
                    .is_ok()
            );
            let wrong = |i: &Identity| verify_identity(&secret, i).expect_err("must fail");
            assert_eq!(wrong(&id("cust-43", Some("ana@example.com"), &sig)).code(), "invalid");
            assert_eq!(wrong(&id("cust-42", None, &sig)).code(), "invalid");
            assert_eq!(wrong(&id("cust-42", Some("ana@example.com"), "zz")).code(), "invalid");
            assert!(verify_identity(&[8u8; 32], &id("cust-42", Some("ana@example.com"), &sig)).is_err());
            assert!(verify_identity(&secret, &id(" cust-42", Some("ana@example.com"), &sig)).is_err());
            let colon = sign_identity(&secret, "a", Some("x@y.z:")).expect("sign");
            assert!(verify_identity(&secret, &id("a", Some("x@y.z:"), &colon)).is_err());
        }
    }
}
