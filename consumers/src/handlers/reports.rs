//! **reports**: keeps the per-session report facts and their daily rollups
//! current ([`domain::reports::facts::refresh`]). Every session event
//! recomputes the session's fact from its history and moves the difference
//! into the rollups, so a replayed or reordered event changes nothing.
//! A message matters only while the session has no human reply yet (the
//! first-response time); the others are skipped with one indexed read.

use domain::{outbox::Event, reports::facts};
use sqlx::PgConnection;

use crate::{BoxFuture, Handler, HandlerError};

pub struct Reports;

impl Handler for Reports {
    fn name(&self) -> &'static str {
        "reports"
    }

    fn bindings(&self) -> &'static [&'static str] {
        &["session.*", "message.created", "csat.submitted"]
    }

    /// Its effects are database writes only (a fact row and its rollups).
    /// The outside benchmark's scenario 6 found it the slowest consumer at
    /// one commit per event (p95 16 s behind under scenario 1's load).
    fn shares_transactions(&self) -> bool {
        true
    }

    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let session = crate::handler::session_of(event)?;
            if event.topic == "message.created" {
                if event.payload["sender_kind"] != "agent" {
                    return Ok(());
                }
                let answered = sqlx::query_scalar!(
                    "SELECT frt_at IS NOT NULL FROM report_facts WHERE session_id = $1",
                    session.0
                )
                .fetch_optional(&mut *tx)
                .await?
                .flatten()
                .unwrap_or(false);
                if answered {
                    return Ok(());
                }
            }
            facts::refresh(tx, &[session]).await?;
            Ok(())
        })
    }
}
