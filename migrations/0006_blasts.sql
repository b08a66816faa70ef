-- Blasts: an admin's message to a segment of the account's customers,
-- fanned out by the blast worker at a bounded rate. The recipients are
-- snapshotted when the blast is created, so the audience never shifts while
-- it runs, and each recipient row is claimed, sent and marked in one
-- transaction: a crash at any point never sends twice, and a restart simply
-- continues with the rows still pending.

CREATE TABLE blasts (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id      uuid NOT NULL REFERENCES accounts (id),
    created_by      uuid NOT NULL REFERENCES agents (id),
    body            text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    -- {"kind": "support_type", "support_type_id": …} | {"kind": "account"}
    -- | {"kind": "recent", "days": n}
    segment         jsonb NOT NULL CHECK (segment ->> 'kind' IN ('support_type', 'account', 'recent')),
    -- The type of the outbound sessions opened for customers without an open one.
    support_type_id uuid NOT NULL REFERENCES support_types (id),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'done', 'cancelled')),
    rate_per_minute integer NOT NULL CHECK (rate_per_minute > 0),
    -- Progress counters, maintained with the recipient rows they count.
    total           integer NOT NULL DEFAULT 0 CHECK (total >= 0),
    sent            integer NOT NULL DEFAULT 0 CHECK (sent >= 0),
    failed          integer NOT NULL DEFAULT 0 CHECK (failed >= 0),
    skipped         integer NOT NULL DEFAULT 0 CHECK (skipped >= 0),
    -- Pacing shared by every worker: the earliest time of the next send.
    next_send_at    timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    CONSTRAINT blasts_counts_add_up CHECK (sent + failed + skipped <= total)
);
CREATE INDEX blasts_account ON blasts (account_id, created_at DESC);
CREATE INDEX blasts_running ON blasts (next_send_at) WHERE status = 'running';

CREATE TABLE blast_recipients (
    blast_id      uuid NOT NULL REFERENCES blasts (id) ON DELETE CASCADE,
    customer_id   uuid NOT NULL REFERENCES customers (id),
    status        text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'skipped', 'failed')),
    session_id    uuid REFERENCES sessions (id),
    message_id    bigint REFERENCES messages (id),
    -- The customer has an e-mail address and was offline (no live chat
    -- token on an open session) when the message was posted: the mailer
    -- (not part of this change) is to e-mail them and clear the flag.
    email_pending boolean NOT NULL DEFAULT false,
    attempted_at  timestamptz,
    error         text CHECK (length(error) <= 1000),
    PRIMARY KEY (blast_id, customer_id)
);
CREATE INDEX blast_recipients_pending ON blast_recipients (blast_id, customer_id) WHERE status = 'pending';
CREATE INDEX blast_recipients_email ON blast_recipients (blast_id) WHERE email_pending;
