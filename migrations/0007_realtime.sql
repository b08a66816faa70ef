-- Real-time chat: read positions on both sides of a session (unread counts,
-- "seen" receipts; they survive a reload) and CSAT requests for sessions
-- resolved without one.
ALTER TABLE sessions
    ADD COLUMN agent_read_message_id    bigint NOT NULL DEFAULT 0,
    ADD COLUMN customer_read_message_id bigint NOT NULL DEFAULT 0,
    ADD COLUMN csat_requested_at        timestamptz;

-- Replay after an agent reconnects reads their account's recent events
-- (one session's events use outbox_session).
CREATE INDEX outbox_account ON outbox (account_id, id);

-- The customer's estimated wait uses each type's recent assignment rate.
CREATE INDEX sessions_type_assigned ON sessions (support_type_id, assigned_at) WHERE assigned_at IS NOT NULL;
