//! Account configuration that is not a support type or an agent: tags, tag
//! rules and canned responses.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
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

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::Result;
    use sqlx::PgConnection;

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
}
