-- The import's raw limit (psql -v rows=N, on the raw limit's scratch
-- database with raw/seed.sql loaded): the rows an import writes for N
-- resolved conversations (session, assignment, three messages) by
-- PostgreSQL alone, no parsing, no report facts, no checkpoints. Rolled
-- back, so it can run again.
BEGIN;
CREATE TEMP TABLE raw_ids ON COMMIT DROP AS
  SELECT gen_random_uuid() AS id, i FROM generate_series(1, :rows) i;
INSERT INTO customers (account_id, name)
  SELECT a.id, 'raw ' || i FROM accounts a, generate_series(1, 5000) i WHERE a.slug = 'raw';
INSERT INTO sessions (id, account_id, support_type_id, customer_id, status, created_at, queued_at, resolved_at)
  SELECT r.id, t.account_id, t.id,
         (SELECT id FROM customers WHERE account_id = t.account_id LIMIT 1), 'resolved', now(), now(), now()
    FROM raw_ids r, support_types t WHERE t.slug = 'raw-chat';
INSERT INTO assignments (session_id, agent_id, reason, started_at, ended_at, end_reason)
  SELECT r.id, (SELECT id FROM agents WHERE email = 'raw1@raw.test'), 'manual', now(), now(), 'resolved'
    FROM raw_ids r;
INSERT INTO messages (session_id, sender_kind, body)
  SELECT r.id, 'customer', 'raw message ' || k FROM raw_ids r, generate_series(1, 3) k;
ROLLBACK;
