-- The raw limit of "assignment through the product" (pgbench -f): the
-- statements that a customer's chat open issues when it is assigned at once
-- (domain::auth::open_chat → sessions::open_in → engine::assign_at_open),
-- without HTTP, JSON, authentication or the application around them.
\set n random(1, 1000000000)
BEGIN;
SELECT id AS type_id, account_id FROM support_types WHERE slug = 'raw-chat' \gset
INSERT INTO customers (account_id, name) VALUES (':account_id', 'Raw ' || :n) RETURNING id AS customer_id \gset
INSERT INTO sessions (account_id, support_type_id, customer_id)
  VALUES (':account_id', ':type_id', ':customer_id') RETURNING id AS session_id \gset
INSERT INTO outbox (topic, account_id, session_id, payload)
  VALUES ('session.opened', ':account_id', ':session_id', jsonb_build_object('session_id', ':session_id'));
INSERT INTO messages (session_id, sender_kind, body) VALUES (':session_id', 'customer', 'Hello, I need help');
INSERT INTO outbox (topic, account_id, session_id, payload)
  VALUES ('message.created', ':account_id', ':session_id', jsonb_build_object('session_id', ':session_id'));
SELECT EXISTS (SELECT 1 FROM sessions WHERE support_type_id = ':type_id' AND status = 'queued'
               AND id <> ':session_id') AS waiting \gset
SELECT a.id AS agent_id FROM agents a
  WHERE a.role <> 'bot' AND a.account_id = ':account_id' AND a.deactivated_at IS NULL
    AND a.presence = 'online' AND a.active_count < a.max_concurrent
    AND a.id IN (SELECT k.agent_id FROM agent_skills k WHERE k.support_type_id = ':type_id')
  ORDER BY a.last_assigned_at NULLS FIRST, a.id LIMIT 1 FOR UPDATE OF a SKIP LOCKED \gset
INSERT INTO assignments (session_id, agent_id, reason) VALUES (':session_id', ':agent_id', 'auto');
UPDATE agents SET last_assigned_at = clock_timestamp() WHERE id = ':agent_id';
UPDATE sessions SET status = 'active', owner_id = ':agent_id', assigned_at = now(), updated_at = now()
  WHERE id = ':session_id';
INSERT INTO outbox (topic, account_id, session_id, payload)
  VALUES ('session.assigned', ':account_id', ':session_id', jsonb_build_object('agent_id', ':agent_id'));
INSERT INTO customer_tokens (token_hash, session_id, customer_id, expires_at)
  VALUES (sha256(convert_to(gen_random_uuid()::text, 'UTF8')), ':session_id', ':customer_id', now() + interval '1 day');
END;
