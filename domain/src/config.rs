//! Account configuration that is not a support type or an agent: tags, tag
//! rules and canned responses.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::*;

/// A tag of an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tag {
    pub id: TagId,
    pub account_id: AccountId,
    pub name: String,
    pub color: String,
    pub created_at: DateTime<Utc>,
}

/// Tag names: 1-63 characters, starting with a letter or digit.
pub fn validate_tag_name(name: &str) -> crate::Result<String> {
    let name = name.trim();
    let ok = name.chars().next().is_some_and(char::is_alphanumeric)
        && name.chars().count() <= 63
        && name.chars().all(|c| c.is_alphanumeric() || " _:/.-".contains(c));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(crate::Error::invalid(
            "name",
            "a tag is 1-63 letters, digits, spaces or _:/.- and starts with a letter or digit",
        ))
    }
}

/// The colors a tag may have (the UI's palette).
pub const TAG_COLORS: &[&str] = &["slate", "indigo", "emerald", "amber", "rose", "sky", "violet"];

/// The size limit of a compiled tag-rule regex, so that a rule cannot make
/// every message expensive to match.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewTag {
    /// Only global admins (and the system) name the account.
    #[serde(default)]
    pub account_id: Option<AccountId>,
    pub name: String,
    /// slate, indigo, emerald, amber, rose, sky or violet (`TAG_COLORS`); slate when absent.
    #[serde(default)]
    pub color: Option<String>,
}

/// A tag color: trimmed, one of [`TAG_COLORS`]; blank or absent means `slate`.
pub fn validate_tag_color(color: Option<&str>) -> crate::Result<String> {
    match color.map(str::trim) {
        None | Some("") => Ok("slate".to_owned()),
        Some(c) if TAG_COLORS.contains(&c) => Ok(c.to_owned()),
        Some(c) => {
            Err(crate::Error::invalid("color", format!("{c:?} is not one of: {}", TAG_COLORS.join(", "))))
        }
    }
}

/// Tags sessions automatically: a keyword or regex in a customer message, the
/// session's project reference, or its support type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagRule {
    pub id: TagRuleId,
    pub account_id: AccountId,
    pub tag_id: TagId,
    pub kind: TagRuleKind,
    /// The keyword, regex or project reference; empty for `support_type`.
    pub pattern: String,
    /// For `support_type` rules, the type; for the other kinds, an optional
    /// restriction to sessions of this type.
    pub support_type_id: Option<SupportTypeId>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewTagRule {
    #[serde(default)]
    pub account_id: Option<AccountId>,
    /// The tag's name; the tag is created if the account does not have it.
    pub tag: String,
    pub kind: TagRuleKind,
    #[serde(default)]
    pub pattern: String,
    #[serde(default)]
    pub support_type_id: Option<SupportTypeId>,
}

/// Compiles a tag-rule regex with the size limit.
pub fn compile_rule_regex(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern).size_limit(REGEX_SIZE_LIMIT).build()
}

/// Checks a rule's pattern for its kind and returns it normalized (keywords
/// and project references trimmed; empty for `support_type` rules).
pub fn validate_rule_pattern(kind: TagRuleKind, pattern: &str) -> crate::Result<String> {
    use crate::text::required_text;
    match kind {
        TagRuleKind::Keyword => required_text("pattern", pattern, 200),
        TagRuleKind::ProjectRef => required_text("pattern", pattern, 200),
        TagRuleKind::Regex => {
            if pattern.trim().is_empty() {
                return Err(crate::Error::invalid("pattern", "must not be empty"));
            }
            if pattern.chars().count() > 500 {
                return Err(crate::Error::invalid("pattern", "must be at most 500 characters"));
            }
            compile_rule_regex(pattern)
                .map_err(|e| crate::Error::invalid("pattern", format!("not a valid regex: {e}")))?;
            Ok(pattern.to_owned())
        }
        TagRuleKind::SupportType => Ok(String::new()),
    }
}

/// Whether `rule` applies to a session of `support_type_id` with
/// `project_ref`, given a message `text`:
///
/// - `keyword`: the keyword occurs in the text, ignoring case, starting at a
///   word boundary (`refund` matches "Refunds?" but `card` not "discard");
/// - `regex`: the regex (as written: use `(?i)` to ignore case) matches;
/// - `project_ref`: the session's project reference equals the pattern,
///   ignoring case and surrounding blanks;
/// - `support_type`: the session is of the rule's type.
///
/// A keyword, regex or project rule restricted to a support type only
/// applies to sessions of that type. Regexes are compiled on each call; a
/// pattern that no longer compiles matches nothing.
pub fn rule_matches(
    rule: &TagRule,
    text: &str,
    project_ref: Option<&str>,
    support_type_id: SupportTypeId,
) -> bool {
    if rule.kind != TagRuleKind::SupportType && rule.support_type_id.is_some_and(|t| t != support_type_id) {
        return false;
    }
    match rule.kind {
        TagRuleKind::Keyword => keyword_matches(&rule.pattern, text),
        TagRuleKind::Regex => compile_rule_regex(&rule.pattern).is_ok_and(|re| re.is_match(text)),
        TagRuleKind::ProjectRef => {
            let want = rule.pattern.trim();
            !want.is_empty() && project_ref.is_some_and(|p| p.trim().to_lowercase() == want.to_lowercase())
        }
        TagRuleKind::SupportType => rule.support_type_id == Some(support_type_id),
    }
}

fn keyword_matches(keyword: &str, text: &str) -> bool {
    let needle = keyword.trim().to_lowercase();
    if needle.is_empty() {
        return false;
    }
    let hay = text.to_lowercase();
    hay.match_indices(&needle)
        .any(|(at, _)| hay[..at].chars().next_back().is_none_or(|before| !before.is_alphanumeric()))
}

/// A reply agents insert by shortcut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CannedResponse {
    pub id: CannedResponseId,
    pub account_id: AccountId,
    /// `None`: offered for every type of the account.
    pub support_type_id: Option<SupportTypeId>,
    /// What the agent types after `/` to insert it.
    pub shortcut: String,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewCannedResponse {
    #[serde(default)]
    pub account_id: Option<AccountId>,
    #[serde(default)]
    pub support_type_id: Option<SupportTypeId>,
    /// 1-40 lowercase letters, digits, `_` or `-`.
    pub shortcut: String,
    pub title: String,
    pub body: String,
}

/// A partial update: `None` leaves a field unchanged; `clear_support_type`
/// makes the response account-wide.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateCannedResponse {
    pub shortcut: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub support_type_id: Option<SupportTypeId>,
    pub clear_support_type: bool,
}

/// A canned-response shortcut: trimmed and lowercased, 1-40 letters, digits,
/// `_` or `-`, starting with a letter or digit.
pub fn validate_shortcut(shortcut: &str) -> crate::Result<String> {
    let s = shortcut.trim().to_lowercase();
    let ok = s.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars().count() <= 40
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(s)
    } else {
        Err(crate::Error::invalid(
            "shortcut",
            "use 1-40 lowercase letters, digits, _ or -, starting with a letter or digit",
        ))
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
        outbox::{self, topic},
        support_types::{list_scope, require_reader, require_type_in_account, unique_conflict},
        text::required_text,
    };
    use serde_json::json;
    use sqlx::{PgConnection, PgPool};

    /// `query_as!` for [`TagRule`]: its columns between `$before` and `$after`.
    macro_rules! tag_rule_query {
        ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
            sqlx::query_as!(
                TagRule,
                $before
                    + r#"id AS "id: TagRuleId", account_id AS "account_id: AccountId",
                         tag_id AS "tag_id: TagId", kind AS "kind: TagRuleKind", pattern,
                         support_type_id AS "support_type_id: SupportTypeId", created_at"#
                    + $after
                $(, $arg)*
            )
        };
    }

    /// Applies the account's tag rules to a session: on open (`text` is
    /// `None`: project-ref and support-type rules) and on each customer
    /// message (`text`: keyword and regex rules too). The session's project
    /// ref also gives it the tag `project:{ref}`. Runs in the caller's
    /// transaction (the tagging consumer's); tagging twice is a no-op.
    /// Returns the names of the tags it added.
    pub async fn apply_tag_rules(
        conn: &mut PgConnection,
        session_id: crate::types::SessionId,
        text: Option<&str>,
    ) -> Result<Vec<String>> {
        use crate::outbox::{self, topic};
        let Some(session) = sqlx::query!(
            r#"SELECT account_id AS "account_id: AccountId",
                      support_type_id AS "support_type_id: SupportTypeId", project_ref
               FROM sessions WHERE id = $1"#,
            session_id.0
        )
        .fetch_optional(&mut *conn)
        .await?
        else {
            return Err(crate::Error::not_found("session"));
        };
        let (account, support_type, project_ref) =
            (session.account_id, session.support_type_id, session.project_ref);
        let rules = tag_rule_query!(
            "SELECT ",
            " FROM tag_rules WHERE account_id = $1 ORDER BY created_at, id",
            account.0
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut wanted: Vec<(TagId, TagSource)> = rules
            .iter()
            .filter(|r| match (text, r.kind) {
                (None, TagRuleKind::Keyword | TagRuleKind::Regex) => false,
                _ => rule_matches(r, text.unwrap_or(""), project_ref.as_deref(), support_type),
            })
            .map(|r| (r.tag_id, TagSource::Rule))
            .collect();
        if text.is_none()
            && let Some(project) = project_ref.as_deref().map(str::trim).filter(|p| !p.is_empty())
            && let Ok(name) = validate_tag_name(&format!("project:{project}"))
        {
            wanted.push((ensure_tag(conn, account, &name).await?, TagSource::Project));
        }
        let mut added = Vec::new();
        for (tag_id, source) in wanted {
            let name = sqlx::query_scalar!(
                r#"WITH ins AS (INSERT INTO session_tags (session_id, tag_id, source) VALUES ($1, $2, $3)
                                ON CONFLICT DO NOTHING RETURNING tag_id)
                   SELECT t.name::text AS "name!" FROM ins JOIN tags t ON t.id = ins.tag_id"#,
                session_id.0,
                tag_id.0,
                source.as_str()
            )
            .fetch_optional(&mut *conn)
            .await?;
            if let Some(name) = name {
                outbox::record(
                    conn,
                    topic::SESSION_TAGGED,
                    Some(account),
                    Some(session_id),
                    serde_json::json!({ "session_id": session_id, "tag_id": tag_id, "name": name, "source": source }),
                )
                .await?;
                added.push(name);
            }
        }
        Ok(added)
    }

    /// The id of the account's tag `name`, created if missing.
    pub async fn ensure_tag(conn: &mut PgConnection, account: AccountId, name: &str) -> Result<TagId> {
        let id = sqlx::query_scalar!(
            r#"WITH ins AS (
                   INSERT INTO tags (account_id, name) VALUES ($1, $2::text::citext)
                   ON CONFLICT (account_id, name) DO NOTHING RETURNING id)
               SELECT id AS "id!: TagId" FROM ins
               UNION ALL
               SELECT id FROM tags WHERE account_id = $1 AND name = $2::text::citext
               LIMIT 1"#,
            account.0,
            name
        )
        .fetch_one(conn)
        .await?;
        Ok(id)
    }

    /// `query_as!` for [`CannedResponse`]: its columns between `$before` and `$after`.
    macro_rules! canned_query {
        ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
            sqlx::query_as!(
                CannedResponse,
                $before
                    + r#"id AS "id: CannedResponseId", account_id AS "account_id: AccountId",
                         support_type_id AS "support_type_id: SupportTypeId", shortcut::text AS "shortcut!",
                         title, body, created_at"#
                    + $after
                $(, $arg)*
            )
        };
    }

    async fn changed(
        conn: &mut PgConnection,
        account: AccountId,
        entity: &str,
        id: impl Serialize,
        action: &str,
    ) -> Result<()> {
        outbox::record(
            conn,
            topic::CONFIG_CHANGED,
            Some(account),
            None,
            json!({ "entity": entity, "id": id, "action": action }),
        )
        .await
    }

    /// Tags by name: the caller's account, or for global callers every
    /// account or the one named.
    pub async fn list_tags(pool: &PgPool, actor: &Actor, account: Option<AccountId>) -> Result<Vec<Tag>> {
        let account = list_scope(actor, account)?;
        Ok(sqlx::query_as!(
            Tag,
            r#"SELECT id AS "id: TagId", account_id AS "account_id: AccountId", name::text AS "name!",
                      color, created_at
               FROM tags WHERE ($1::uuid IS NULL OR account_id = $1) ORDER BY tags.name, tags.id"#,
            account.map(|a| a.0)
        )
        .fetch_all(pool)
        .await?)
    }

    pub async fn create_tag(pool: &PgPool, actor: &Actor, input: NewTag) -> Result<Tag> {
        let account = actor.target_account(input.account_id)?;
        actor.require_admin_of(account, "tag")?;
        let name = validate_tag_name(&input.name)?;
        let color = validate_tag_color(input.color.as_deref())?;
        let mut tx = pool.begin().await?;
        let tag = sqlx::query_as!(
            Tag,
            r#"INSERT INTO tags (account_id, name, color) VALUES ($1, $2::text::citext, $3)
               RETURNING id AS "id: TagId", account_id AS "account_id: AccountId", name::text AS "name!",
                         color, created_at"#,
            account.0,
            &name,
            &color
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            unique_conflict(e, "tags_account_id_name_key", "tag_exists", "the account already has that tag")
        })?;
        changed(&mut tx, account, "tag", tag.id, "created").await?;
        tx.commit().await?;
        Ok(tag)
    }

    /// Deletes a tag, its rules, and its uses on sessions.
    pub async fn delete_tag(pool: &PgPool, actor: &Actor, id: TagId) -> Result<()> {
        let mut tx = pool.begin().await?;
        let account = sqlx::query_scalar!(
            r#"SELECT account_id AS "account_id: AccountId" FROM tags WHERE id = $1 FOR UPDATE"#,
            id.0
        )
        .fetch_optional(&mut *tx)
        .await?
        .filter(|a| actor.in_account(*a))
        .ok_or_else(|| Error::not_found("tag"))?;
        actor.require_admin_of(account, "tag")?;
        sqlx::query!("DELETE FROM tags WHERE id = $1", id.0).execute(&mut *tx).await?;
        changed(&mut tx, account, "tag", id, "deleted").await?;
        tx.commit().await?;
        Ok(())
    }

    /// Tag rules, oldest first, in the caller's account (global callers:
    /// every account or the one named).
    pub async fn list_tag_rules(
        pool: &PgPool,
        actor: &Actor,
        account: Option<AccountId>,
    ) -> Result<Vec<TagRule>> {
        let account = list_scope(actor, account)?;
        Ok(tag_rule_query!(
            "SELECT ",
            " FROM tag_rules WHERE ($1::uuid IS NULL OR account_id = $1) ORDER BY created_at, id",
            account.map(|a| a.0)
        )
        .fetch_all(pool)
        .await?)
    }

    /// A rule as an admin wrote it, checked: the account (which the caller
    /// must administer), the tag's name and the normalized pattern.
    async fn checked_rule(
        conn: &mut PgConnection,
        actor: &Actor,
        input: &NewTagRule,
    ) -> Result<(AccountId, String, String)> {
        let account = actor.target_account(input.account_id)?;
        actor.require_admin_of(account, "tag rule")?;
        let tag = validate_tag_name(&input.tag).map_err(|e| match e {
            Error::Invalid { message, .. } => Error::invalid("tag", message),
            other => other,
        })?;
        let pattern = validate_rule_pattern(input.kind, &input.pattern)?;
        if input.kind == TagRuleKind::SupportType && input.support_type_id.is_none() {
            return Err(Error::invalid("support_type_id", "a support type rule names its support type"));
        }
        if let Some(type_id) = input.support_type_id {
            require_type_in_account(conn, account, type_id, "support_type_id").await?;
        }
        Ok((account, tag, pattern))
    }

    /// Whether the rule, as written and not yet saved, would tag a session
    /// of the rule's support type (any type when it names none) on
    /// `sample`: a customer's message, or for a project rule the session's
    /// project reference. The same checks as [`create_tag_rule`] and the
    /// same [`rule_matches`] as the tagging consumer. Admins of the account.
    pub async fn preview_tag_rule(
        pool: &PgPool,
        actor: &Actor,
        input: &NewTagRule,
        sample: &str,
    ) -> Result<bool> {
        let mut conn = pool.acquire().await?;
        let (account_id, _, pattern) = checked_rule(&mut conn, actor, input).await?;
        let support_type_id = input.support_type_id.unwrap_or_default();
        let rule = TagRule {
            id: TagRuleId::new(),
            account_id,
            tag_id: TagId::new(),
            kind: input.kind,
            pattern,
            support_type_id: input.support_type_id,
            created_at: Utc::now(),
        };
        Ok(rule_matches(&rule, sample, Some(sample), support_type_id))
    }

    pub async fn create_tag_rule(pool: &PgPool, actor: &Actor, input: NewTagRule) -> Result<TagRule> {
        let mut tx = pool.begin().await?;
        let (account, tag, pattern) = checked_rule(&mut tx, actor, &input).await?;
        let tag_id = ensure_tag(&mut tx, account, &tag).await?;
        let rule = tag_rule_query!(
            "INSERT INTO tag_rules (account_id, tag_id, kind, pattern, support_type_id)
             VALUES ($1, $2, $3, $4, $5) RETURNING ",
            "",
            account.0,
            tag_id.0,
            input.kind.as_str(),
            &pattern,
            input.support_type_id.map(|t| t.0)
        )
        .fetch_one(&mut *tx)
        .await?;
        changed(&mut tx, account, "tag_rule", rule.id, "created").await?;
        tx.commit().await?;
        Ok(rule)
    }

    pub async fn delete_tag_rule(pool: &PgPool, actor: &Actor, id: TagRuleId) -> Result<()> {
        let mut tx = pool.begin().await?;
        let account = sqlx::query_scalar!(
            r#"SELECT account_id AS "account_id: AccountId" FROM tag_rules WHERE id = $1 FOR UPDATE"#,
            id.0
        )
        .fetch_optional(&mut *tx)
        .await?
        .filter(|a| actor.in_account(*a))
        .ok_or_else(|| Error::not_found("tag rule"))?;
        actor.require_admin_of(account, "tag rule")?;
        sqlx::query!("DELETE FROM tag_rules WHERE id = $1", id.0).execute(&mut *tx).await?;
        changed(&mut tx, account, "tag_rule", id, "deleted").await?;
        tx.commit().await?;
        Ok(())
    }

    /// Canned responses by shortcut, for agents of the account. With a
    /// support type: that type's responses plus the account-wide ones.
    pub async fn list_canned(
        pool: &PgPool,
        actor: &Actor,
        account: Option<AccountId>,
        support_type_id: Option<SupportTypeId>,
    ) -> Result<Vec<CannedResponse>> {
        let account = list_scope(actor, account)?;
        Ok(canned_query!(
            "SELECT ",
            " FROM canned_responses
             WHERE ($1::uuid IS NULL OR account_id = $1)
               AND ($2::uuid IS NULL OR support_type_id IS NULL OR support_type_id = $2)
             ORDER BY shortcut, id",
            account.map(|a| a.0),
            support_type_id.map(|t| t.0)
        )
        .fetch_all(pool)
        .await?)
    }

    fn shortcut_conflict(err: sqlx::Error) -> Error {
        unique_conflict(
            err,
            "canned_responses_account_id_shortcut_key",
            "shortcut_taken",
            "another canned response of the account uses that shortcut",
        )
    }

    pub async fn create_canned(
        pool: &PgPool,
        actor: &Actor,
        input: NewCannedResponse,
    ) -> Result<CannedResponse> {
        let account = actor.target_account(input.account_id)?;
        actor.require_admin_of(account, "canned response")?;
        let shortcut = validate_shortcut(&input.shortcut)?;
        let title = required_text("title", &input.title, 120)?;
        let body = required_text("body", &input.body, 5000)?;
        let mut tx = pool.begin().await?;
        if let Some(type_id) = input.support_type_id {
            require_type_in_account(&mut tx, account, type_id, "support_type_id").await?;
        }
        let canned = canned_query!(
            // Indexed in its type's language (English when account-wide).
            "INSERT INTO canned_responses (account_id, support_type_id, shortcut, title, body, language)
             VALUES ($1, $2, $3::text::citext, $4, $5,
                     COALESCE((SELECT language FROM support_types WHERE id = $2), 'english'))
             RETURNING ",
            "",
            account.0,
            input.support_type_id.map(|t| t.0),
            &shortcut,
            &title,
            &body
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(shortcut_conflict)?;
        changed(&mut tx, account, "canned_response", canned.id, "created").await?;
        tx.commit().await?;
        Ok(canned)
    }

    async fn load_canned_for_admin(
        conn: &mut PgConnection,
        actor: &Actor,
        id: CannedResponseId,
    ) -> Result<CannedResponse> {
        let canned = canned_query!("SELECT ", " FROM canned_responses WHERE id = $1 FOR UPDATE", id.0)
            .fetch_optional(conn)
            .await?
            .ok_or_else(|| Error::not_found("canned response"))?;
        require_reader(actor, canned.account_id, "canned response")?;
        actor.require_admin_of(canned.account_id, "canned response")?;
        Ok(canned)
    }

    pub async fn update_canned(
        pool: &PgPool,
        actor: &Actor,
        id: CannedResponseId,
        input: UpdateCannedResponse,
    ) -> Result<CannedResponse> {
        if input.clear_support_type && input.support_type_id.is_some() {
            return Err(Error::invalid("support_type_id", "set it or clear it, not both"));
        }
        let shortcut = input.shortcut.as_deref().map(validate_shortcut).transpose()?;
        let title = input.title.as_deref().map(|t| required_text("title", t, 120)).transpose()?;
        let body = input.body.as_deref().map(|b| required_text("body", b, 5000)).transpose()?;
        let mut tx = pool.begin().await?;
        let cur = load_canned_for_admin(&mut tx, actor, id).await?;
        if let Some(type_id) = input.support_type_id {
            require_type_in_account(&mut tx, cur.account_id, type_id, "support_type_id").await?;
        }
        let support_type_id =
            if input.clear_support_type { None } else { input.support_type_id.or(cur.support_type_id) };
        let canned = canned_query!(
            "UPDATE canned_responses
             SET shortcut = $2::text::citext, title = $3, body = $4, support_type_id = $5,
                 language = COALESCE((SELECT language FROM support_types WHERE id = $5), 'english')
             WHERE id = $1 RETURNING ",
            "",
            id.0,
            shortcut.unwrap_or(cur.shortcut),
            title.unwrap_or(cur.title),
            body.unwrap_or(cur.body),
            support_type_id.map(|t| t.0)
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(shortcut_conflict)?;
        changed(&mut tx, canned.account_id, "canned_response", id, "updated").await?;
        tx.commit().await?;
        Ok(canned)
    }

    pub async fn delete_canned(pool: &PgPool, actor: &Actor, id: CannedResponseId) -> Result<()> {
        let mut tx = pool.begin().await?;
        let cur = load_canned_for_admin(&mut tx, actor, id).await?;
        sqlx::query!("DELETE FROM canned_responses WHERE id = $1", id.0).execute(&mut *tx).await?;
        changed(&mut tx, cur.account_id, "canned_response", id, "deleted").await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(kind: TagRuleKind, pattern: &str, support_type_id: Option<SupportTypeId>) -> TagRule {
        TagRule {
            id: TagRuleId::new(),
            account_id: AccountId::new(),
            tag_id: TagId::new(),
            kind,
            pattern: pattern.to_owned(),
            support_type_id,
            created_at: Utc::now(),
        }
    }

    #[test]
    fn keywords_match_ignoring_case_from_a_word_start() {
        let ty = SupportTypeId::new();
        let r = rule(TagRuleKind::Keyword, "Refund", None);
        assert!(rule_matches(&r, "I want a REFUND now", None, ty));
        assert!(rule_matches(&r, "refunds?", None, ty));
        assert!(rule_matches(&r, "(refund)", None, ty));
        assert!(!rule_matches(&r, "nonrefundable", None, ty));
        assert!(!rule_matches(&r, "", None, ty));
        let card = rule(TagRuleKind::Keyword, "card", None);
        assert!(!rule_matches(&card, "discard this", None, ty));
        assert!(rule_matches(&card, "discard this card", None, ty));
        let phrase = rule(TagRuleKind::Keyword, "credit card", None);
        assert!(rule_matches(&phrase, "My Credit  card? no: my credit card!", None, ty));
    }

    #[test]
    fn regexes_match_as_written() {
        let ty = SupportTypeId::new();
        let r = rule(TagRuleKind::Regex, r"INV-\d{4}", None);
        assert!(rule_matches(&r, "about INV-2024 please", None, ty));
        assert!(!rule_matches(&r, "about inv-2024 please", None, ty));
        let ci = rule(TagRuleKind::Regex, r"(?i)inv-\d{4}", None);
        assert!(rule_matches(&ci, "about INV-2024", None, ty));
        let broken = rule(TagRuleKind::Regex, "(", None);
        assert!(!rule_matches(&broken, "(", None, ty));
    }

    #[test]
    fn project_and_type_rules_look_at_the_session() {
        let (ty, other) = (SupportTypeId::new(), SupportTypeId::new());
        let p = rule(TagRuleKind::ProjectRef, "ACME-42", None);
        assert!(rule_matches(&p, "", Some(" acme-42 "), ty));
        assert!(!rule_matches(&p, "ACME-42", None, ty));
        assert!(!rule_matches(&p, "", Some("acme-4"), ty));
        let t = rule(TagRuleKind::SupportType, "", Some(ty));
        assert!(rule_matches(&t, "anything", None, ty));
        assert!(!rule_matches(&t, "anything", None, other));
        let scoped = rule(TagRuleKind::Keyword, "refund", Some(ty));
        assert!(rule_matches(&scoped, "refund", None, ty));
        assert!(!rule_matches(&scoped, "refund", None, other));
    }

    #[test]
    fn patterns_are_validated_per_kind() {
        let field_of = |e: crate::Error| match e {
            crate::Error::Invalid { field, .. } => field,
            other => panic!("expected invalid, got {other:?}"),
        };
        assert_eq!(validate_rule_pattern(TagRuleKind::Keyword, "  refund ").expect("ok"), "refund");
        assert_eq!(
            field_of(validate_rule_pattern(TagRuleKind::Keyword, "  ").expect_err("empty")),
            "pattern"
        );
        assert_eq!(
            field_of(validate_rule_pattern(TagRuleKind::Keyword, &"k".repeat(201)).expect_err("long")),
            "pattern"
        );
        let err = validate_rule_pattern(TagRuleKind::Regex, "a(b").expect_err("unclosed");
        assert!(err.to_string().contains("regex"), "{err}");
        assert_eq!(field_of(err), "pattern");
        // Compiles in principle, but far beyond the size limit.
        assert!(validate_rule_pattern(TagRuleKind::Regex, r"\w{1000}\w{1000}").is_err());
        assert_eq!(validate_rule_pattern(TagRuleKind::SupportType, "ignored").expect("ok"), "");
    }

    #[test]
    fn shortcuts_and_colors_are_validated() {
        assert_eq!(validate_shortcut(" Refund_EU-2 ").expect("ok"), "refund_eu-2");
        for bad in ["", "-x", "a b", "é", &"x".repeat(41)] {
            assert!(validate_shortcut(bad).is_err(), "{bad:?}");
        }
        assert_eq!(validate_tag_color(None).expect("default"), "slate");
        assert_eq!(validate_tag_color(Some("rose")).expect("ok"), "rose");
        assert!(validate_tag_color(Some("red")).is_err());
    }
}
