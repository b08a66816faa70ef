-- Notifications (issue 6, item 4): in-app alerts for agents, e-mail
-- (agents who opt in, offline customers), and outgoing webhooks with a
-- delivery log, retries and automatic disabling.

-- In-app alerts, newest first per agent.
CREATE TABLE notifications (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agent_id   uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (length(kind) BETWEEN 1 AND 60),
    session_id uuid REFERENCES sessions (id),
    body       text NOT NULL CHECK (length(body) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at    timestamptz
);
CREATE INDEX notifications_agent ON notifications (agent_id, id DESC);

-- Agents opt in to e-mail about their assignments.
ALTER TABLE agents ADD COLUMN email_notifications boolean NOT NULL DEFAULT false;

-- E-mail is external, so at-least-once: the consumer records each message it
-- means to send here, in the transaction that records the event as processed,
-- and sends after commit. A redelivered event finds its row and sends nothing.
CREATE TABLE mail_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id   uuid NOT NULL,
    recipient  text NOT NULL,
    subject    text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz,
    error      text,
    UNIQUE (event_id, recipient)
);

CREATE TABLE webhooks (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id           uuid NOT NULL REFERENCES accounts (id),
    url                  text NOT NULL CHECK (url ~ '^https?://[^\s]+$' AND length(url) <= 2000),
    -- AMQP-style topic patterns: `session.*`, `message.created`, `#`.
    events               text[] NOT NULL CHECK (cardinality(events) BETWEEN 1 AND 50),
    -- HMAC-SHA256 key; shown once, at creation.
    secret               bytea NOT NULL CHECK (length(secret) = 32),
    active               boolean NOT NULL DEFAULT true,
    consecutive_failures integer NOT NULL DEFAULT 0,
    disabled_at          timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_account ON webhooks (account_id) WHERE active;

CREATE TABLE webhook_deliveries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id      uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        uuid NOT NULL,
    topic           text NOT NULL,
    -- The event as POSTed (the outbox row is pruned after a week).
    payload         jsonb NOT NULL,
    attempt         integer NOT NULL DEFAULT 0,
    status_code     integer,
    error           text,
    -- NULL once delivered or given up.
    next_attempt_at timestamptz DEFAULT now(),
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, id DESC);
