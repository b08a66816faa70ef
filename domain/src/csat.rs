//! Customer satisfaction: one rating (1-5, optional comment) per resolved
//! session, from that session's customer, and the statistics over them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::*;

pub const MAX_COMMENT_CHARS: usize = 2000;

/// A customer's rating of a resolved session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Csat {
    pub session_id: SessionId,
    /// 1 (worst) to 5 (best).
    pub score: i16,
    pub comment: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubmitCsat {
    /// 1 (worst) to 5 (best).
    pub score: i16,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CsatStats {
    pub count: i64,
    /// The mean score; `None` without ratings.
    pub average: Option<f64>,
    /// How many ratings had each score: `distribution[0]` counts the 1s.
    pub distribution: [i64; 5],
}

/// Checks a rating before it reaches the database; returns the normalized
/// comment (trimmed; blank means none).
pub fn validate(input: &SubmitCsat) -> crate::Result<Option<String>> {
    if !(1..=5).contains(&input.score) {
        return Err(crate::Error::invalid("score", "must be between 1 and 5"));
    }
    crate::text::optional_text("comment", input.comment.as_deref(), MAX_COMMENT_CHARS)
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
        sessions::{Lock, visible},
    };
    use serde_json::json;
    use sqlx::PgPool;

    const ALREADY: &str = "this session has already been rated";

    /// Rates a resolved session. Only the session's customer (or the system,
    /// e.g. an import) may; each session is rated at most once.
    pub async fn submit(
        pool: &PgPool,
        actor: &Actor,
        session_id: SessionId,
        input: SubmitCsat,
    ) -> Result<Csat> {
        let comment = validate(&input)?;
        let mut tx = pool.begin().await?;
        let session = visible(&mut tx, actor, session_id, Lock::Update).await?;
        if matches!(actor, Actor::Agent(_)) {
            return Err(Error::forbidden("only the session's customer may rate it"));
        }
        let rated = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM csat WHERE session_id = $1) AS "rated!""#,
            session_id.0
        )
        .fetch_one(&mut *tx)
        .await?;
        if rated {
            return Err(Error::conflict("csat_already_submitted", ALREADY));
        }
        if session.status != SessionStatus::Resolved {
            return Err(Error::conflict(
                "session_not_resolved",
                format!("the session is {}; it can be rated once resolved", session.status),
            ));
        }
        // A type without CSAT still takes a rating an agent asked for.
        let enabled = sqlx::query_scalar!(
            r#"SELECT t.csat_enabled OR s.csat_requested_at IS NOT NULL AS "enabled!"
               FROM sessions s JOIN support_types t ON t.id = s.support_type_id WHERE s.id = $1"#,
            session_id.0
        )
        .fetch_one(&mut *tx)
        .await?;
        if !enabled {
            return Err(Error::conflict("csat_disabled", "this support type does not collect ratings"));
        }
        let csat = sqlx::query_as!(
            Csat,
            r#"INSERT INTO csat (session_id, score, comment) VALUES ($1, $2, $3)
               RETURNING session_id AS "session_id: SessionId", score, comment, created_at"#,
            session_id.0,
            input.score,
            comment.as_deref()
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            crate::support_types::unique_conflict(e, "csat_pkey", "csat_already_submitted", ALREADY)
        })?;
        outbox::record(
            &mut tx,
            topic::CSAT_SUBMITTED,
            Some(session.account_id),
            Some(session_id),
            json!({ "session_id": session_id, "score": csat.score, "comment": csat.comment,
                    "support_type_id": session.support_type_id, "customer_id": session.customer_id,
                    "agent_id": session.previous_owner_id, "resolved_by_id": session.resolved_by_id }),
        )
        .await?;
        tx.commit().await?;
        Ok(csat)
    }

    /// Asks the customer of a resolved session to rate it (also when its
    /// type does not ask by itself): the chat page shows the form. The
    /// session's last owner, a supervisor or an admin may ask; asking twice
    /// changes nothing. Refused once the session is rated.
    pub async fn request(pool: &PgPool, actor: &Actor, session_id: SessionId) -> Result<()> {
        let mut tx = pool.begin().await?;
        let session = visible(&mut tx, actor, session_id, Lock::Update).await?;
        let last_owner = session.owner_id.or(session.previous_owner_id);
        if !(actor.supervises(session.account_id)
            || (actor.agent_id().is_some() && actor.agent_id() == last_owner))
        {
            return Err(Error::forbidden("only the session's agent or a supervisor may ask for a rating"));
        }
        if session.status != SessionStatus::Resolved {
            return Err(Error::conflict(
                "session_not_resolved",
                format!("the session is {}; ask for a rating once it is resolved", session.status),
            ));
        }
        let rated = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM csat WHERE session_id = $1) AS "rated!""#,
            session_id.0
        )
        .fetch_one(&mut *tx)
        .await?;
        if rated {
            return Err(Error::conflict("csat_already_submitted", ALREADY));
        }
        let asked = sqlx::query!(
            "UPDATE sessions SET csat_requested_at = now() WHERE id = $1 AND csat_requested_at IS NULL",
            session_id.0
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if asked > 0 {
            outbox::record(
                &mut tx,
                topic::CSAT_REQUESTED,
                Some(session.account_id),
                Some(session_id),
                json!({ "session_id": session_id, "by": actor.agent_id() }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The session's rating, if any, for anyone who may see the session.
    pub async fn get(pool: &PgPool, actor: &Actor, session_id: SessionId) -> Result<Option<Csat>> {
        let mut conn = pool.acquire().await?;
        visible(&mut conn, actor, session_id, Lock::None).await?;
        Ok(sqlx::query_as!(
            Csat,
            r#"SELECT session_id AS "session_id: SessionId", score, comment, created_at FROM csat
               WHERE session_id = $1"#,
            session_id.0
        )
        .fetch_optional(&mut *conn)
        .await?)
    }

    /// Ratings over an account (supervisors and admins; global callers may
    /// leave it open), optionally one support type.
    pub async fn stats(
        pool: &PgPool,
        actor: &Actor,
        account: Option<AccountId>,
        support_type_id: Option<SupportTypeId>,
    ) -> Result<CsatStats> {
        let account = crate::support_types::list_scope(actor, account)?;
        if let Some(own) = account
            && !actor.supervises(own)
        {
            return Err(Error::forbidden("only supervisors and admins see CSAT statistics"));
        }
        let mut conn = pool.acquire().await?;
        if let Some(type_id) = support_type_id {
            let type_account = sqlx::query_scalar!(
                r#"SELECT account_id AS "account_id: AccountId" FROM support_types WHERE id = $1"#,
                type_id.0
            )
            .fetch_optional(&mut *conn)
            .await?;
            match type_account {
                Some(found) if account.is_none_or(|a| a == found) => {}
                _ => return Err(Error::not_found("support type")),
            }
        }
        let row = sqlx::query!(
            r#"SELECT COUNT(*) AS "count!", AVG(c.score)::float8 AS average,
                      COUNT(*) FILTER (WHERE c.score = 1) AS "s1!",
                      COUNT(*) FILTER (WHERE c.score = 2) AS "s2!",
                      COUNT(*) FILTER (WHERE c.score = 3) AS "s3!",
                      COUNT(*) FILTER (WHERE c.score = 4) AS "s4!",
                      COUNT(*) FILTER (WHERE c.score = 5) AS "s5!"
               FROM csat c JOIN sessions s ON s.id = c.session_id
               WHERE ($1::uuid IS NULL OR s.account_id = $1) AND ($2::uuid IS NULL OR s.support_type_id = $2)"#,
            account.map(|a| a.0),
            support_type_id.map(|t| t.0)
        )
        .fetch_one(&mut *conn)
        .await?;
        Ok(CsatStats {
            count: row.count,
            average: row.average,
            distribution: [row.s1, row.s2, row.s3, row.s4, row.s5],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_comments_are_bounded() {
        let ok = SubmitCsat { score: 5, comment: Some("  thanks  ".into()) };
        assert_eq!(validate(&ok).expect("valid"), Some("thanks".to_owned()));
        for score in [0, 6, -1] {
            let err = validate(&SubmitCsat { score, comment: None }).expect_err("score");
            assert!(matches!(err, crate::Error::Invalid { ref field, .. } if field == "score"), "{err:?}");
        }
        let long = SubmitCsat { score: 3, comment: Some("x".repeat(MAX_COMMENT_CHARS + 1)) };
        let err = validate(&long).expect_err("long");
        assert!(matches!(err, crate::Error::Invalid { ref field, .. } if field == "comment"), "{err:?}");
        assert_eq!(validate(&SubmitCsat { score: 1, comment: Some("  ".into()) }).expect("blank"), None);
    }
}
