-- Event delivery: wake the relay on new outbox rows, and the durable
-- per-consumer queues of embedded mode (no broker).

CREATE FUNCTION notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('switchboard_outbox', '');
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_inserted AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION notify_outbox();

-- Embedded mode: the relay copies each event into the inbox of every
-- consumer bound to its topic, in the transaction that marks it published.
-- Each consumer drains its own inbox, so one stalled consumer never holds
-- up another.
CREATE TABLE consumer_inbox (
    consumer        text NOT NULL,
    outbox_id       bigint NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    PRIMARY KEY (consumer, outbox_id)
);
CREATE INDEX consumer_inbox_due ON consumer_inbox (consumer, next_attempt_at, outbox_id);

-- Events a consumer gave up on (after the delivery limit, or a permanent
-- failure), in either mode, for an operator to inspect and replay.
CREATE TABLE dead_letters (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer   text NOT NULL,
    event_id   uuid NOT NULL,
    topic      text NOT NULL,
    payload    jsonb NOT NULL,
    error      text NOT NULL,
    attempts   integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (consumer, event_id)
);

-- Presence: an agent whose heartbeats stop (closed tab, lost connection) is
-- set away after this grace period; per account.
ALTER TABLE accounts ADD COLUMN presence_grace_secs integer NOT NULL DEFAULT 60
    CHECK (presence_grace_secs BETWEEN 10 AND 3600);
CREATE INDEX agents_heartbeat ON agents (last_heartbeat_at) WHERE presence = 'online';
