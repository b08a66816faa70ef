-- "One rule, one place".
--
-- 1. Whether a customer is offline is what the real-time hub knows: while a
--    customer's WebSocket for the session is open, the node holding it keeps
--    this a little in the future; on close it is set to the close time. NULL
--    means the customer never had a live connection (API-only customers):
--    then the message-age rule is the fallback (domain::notifications).
ALTER TABLE sessions ADD COLUMN customer_live_until timestamptz;

-- 2. An active support type escalates only to an active type. Earlier
--    versions allowed archiving a type that others escalate to; such paths
--    are cleared here, each with an audit entry (domain::support_types now
--    refuses the archive instead).
WITH cleared AS (
    UPDATE support_types t SET escalation_target_id = NULL
    FROM support_types target
    WHERE t.escalation_target_id = target.id AND target.archived_at IS NOT NULL AND t.archived_at IS NULL
    RETURNING t.id, t.account_id, target.id AS target_id
)
INSERT INTO audit_log (account_id, actor_id, action, target, details)
SELECT account_id, NULL, 'support_type.escalation_target_cleared', id::text,
       jsonb_build_object('archived_target_id', target_id, 'by', 'migration 0008')
FROM cleared;

-- 3. The waiting queue of a whole account (supervisors' and admins' scope),
--    in queue order (domain::scope::queue_order), without scanning sessions.
CREATE INDEX sessions_account_queue ON sessions (account_id, priority DESC, queued_at, id) WHERE status = 'queued';
