//! SLA timers, derived from stored timestamps (never from in-memory sleeps),
//! so they survive restarts:
//!
//! - a queued session waiting longer than its type's queue SLA is escalated
//!   once per stint in the queue (priority bump and/or move to the target);
//! - an active session whose owner has not replied within the type's
//!   first-response SLA is reassigned to the queue with reason `sla`, and the
//!   engine gives it to someone else.

use sqlx::PgPool;

use crate::{
    Error, Result,
    actor::Actor,
    sessions::{self, Lock, ReassignTarget},
    types::*,
};

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SlaReport {
    pub escalated: usize,
    pub reassigned: usize,
}

pub async fn run_due(pool: &PgPool) -> Result<SlaReport> {
    let mut report = SlaReport::default();
    let overdue_in_queue = sqlx::query_scalar!(
        r#"SELECT s.id AS "id: SessionId" FROM sessions s JOIN support_types t ON t.id = s.support_type_id
           WHERE s.status = 'queued' AND t.queue_sla_secs IS NOT NULL
             AND s.queued_at < now() - make_interval(secs => t.queue_sla_secs)
             AND (s.escalated_at IS NULL OR s.escalated_at < s.queued_at)
           ORDER BY s.queued_at LIMIT 500"#
    )
    .fetch_all(pool)
    .await?;
    for id in overdue_in_queue {
        if escalate_overdue(pool, id).await? {
            report.escalated += 1;
        }
    }

    let unanswered = sqlx::query_scalar!(
        r#"SELECT a.session_id AS "id: SessionId" FROM assignments a
           JOIN sessions s ON s.id = a.session_id JOIN support_types t ON t.id = s.support_type_id
           WHERE a.ended_at IS NULL AND a.responded_at IS NULL AND t.first_response_sla_secs IS NOT NULL
             AND a.started_at < now() - make_interval(secs => t.first_response_sla_secs)
           ORDER BY a.started_at LIMIT 500"#
    )
    .fetch_all(pool)
    .await?;
    for id in unanswered {
        if requeue_unanswered(pool, id).await? {
            report.reassigned += 1;
        }
    }
    Ok(report)
}

async fn escalate_overdue(pool: &PgPool, id: SessionId) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let still_due = sqlx::query_scalar!(
        r#"SELECT s.id FROM sessions s JOIN support_types t ON t.id = s.support_type_id
           WHERE s.id = $1 AND s.status = 'queued'
             AND s.queued_at < now() - make_interval(secs => t.queue_sla_secs)
             AND (s.escalated_at IS NULL OR s.escalated_at < s.queued_at)
           FOR UPDATE OF s SKIP LOCKED"#,
        id.0
    )
    .fetch_optional(&mut *tx)
    .await?;
    if still_due.is_none() {
        return Ok(false);
    }
    let session = sessions::load(&mut tx, id, Lock::None).await?;
    match sessions::escalate_locked(&mut tx, &Actor::System, &session).await {
        Ok(_) => {}
        Err(Error::Conflict { code, .. }) if code == "no_escalation_path" => {
            // Nothing to escalate to: note that the SLA fired so the sweep
            // does not retry it every tick.
            tracing::warn!(session = %id, "queue SLA breached but the type has no escalation path");
            sqlx::query!("UPDATE sessions SET escalated_at = now() WHERE id = $1", id.0)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(false);
        }
        Err(err) => return Err(err),
    }
    tx.commit().await?;
    Ok(true)
}

async fn requeue_unanswered(pool: &PgPool, id: SessionId) -> Result<bool> {
    let mut tx = pool.begin().await?;
    let still_due = sqlx::query_scalar!(
        r#"SELECT s.id FROM sessions s
           JOIN assignments a ON a.session_id = s.id AND a.ended_at IS NULL AND a.responded_at IS NULL
           JOIN support_types t ON t.id = s.support_type_id
           WHERE s.id = $1 AND s.status = 'active'
             AND a.started_at < now() - make_interval(secs => t.first_response_sla_secs)
           FOR UPDATE OF s SKIP LOCKED"#,
        id.0
    )
    .fetch_optional(&mut *tx)
    .await?;
    if still_due.is_none() {
        return Ok(false);
    }
    let session = sessions::load(&mut tx, id, Lock::None).await?;
    sessions::move_session(&mut tx, &Actor::System, &session, ReassignTarget::Queue, AssignReason::Sla)
        .await?;
    tx.commit().await?;
    Ok(true)
}
