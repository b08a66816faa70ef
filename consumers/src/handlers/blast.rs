//! **blast**: on `blast.created`, marks the blast `running`. The fan-out
//! itself is not done here: one event would mean one long transaction (and
//! a redelivery after a crash would start over); instead the resumable,
//! rate-limited worker [`crate::blast::run`] sends to the recipients one
//! transaction each.

use domain::{blasts, outbox::Event, types::BlastId};
use sqlx::PgConnection;

use crate::{BoxFuture, Handler, HandlerError};

pub struct Blast;

impl Handler for Blast {
    fn name(&self) -> &'static str {
        "blast"
    }

    fn bindings(&self) -> &'static [&'static str] {
        &["blast.created"]
    }

    fn handle<'a>(
        &'a self,
        tx: &'a mut PgConnection,
        event: &'a Event,
    ) -> BoxFuture<'a, Result<(), HandlerError>> {
        Box::pin(async move {
            let id: BlastId = serde_json::from_value(event.payload["blast_id"].clone())
                .map_err(|e| HandlerError::Permanent(format!("blast.created without a blast: {e}")))?;
            if blasts::start_in(tx, id).await? {
                tracing::info!(blast = %id, "blast started");
            }
            Ok(())
        })
    }
}
