-- The session core: accounts, support types, agents, customers, sessions and
-- their history, the conversation, feedback, and the outbox.
--
-- Invariants enforced here, not only in code (DESIGN.md):
--   1. agents.active_count <= agents.max_concurrent (CHECK), where
--      active_count is maintained by a trigger on assignments;
--   2. at most one open assignment per session (partial unique index);
--   3. outbox rows are written in the same transaction as the change;
--   4. (session_id, client_message_id) is unique on messages;
--   5. csat is keyed by session_id.

CREATE TABLE accounts (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug        citext NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name        text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agents (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- NULL only for global admins.
    account_id          uuid REFERENCES accounts (id),
    email               citext NOT NULL UNIQUE CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
    display_name        text NOT NULL CHECK (length(btrim(display_name)) BETWEEN 1 AND 120),
    role                text NOT NULL CHECK (role IN ('admin', 'supervisor', 'agent', 'bot')),
    max_concurrent      integer NOT NULL DEFAULT 5 CHECK (max_concurrent BETWEEN 0 AND 1000),
    active_count        integer NOT NULL DEFAULT 0,
    presence            text NOT NULL DEFAULT 'offline' CHECK (presence IN ('online', 'away', 'offline')),
    presence_reason     text CHECK (length(presence_reason) <= 200),
    presence_changed_at timestamptz NOT NULL DEFAULT now(),
    last_heartbeat_at   timestamptz,
    last_assigned_at    timestamptz,
    password_hash       text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    deactivated_at      timestamptz,
    CONSTRAINT agents_within_limit CHECK (active_count BETWEEN 0 AND max_concurrent),
    CONSTRAINT agents_scoped CHECK (account_id IS NOT NULL OR role = 'admin'),
    CONSTRAINT bots_have_no_password CHECK (role <> 'bot' OR password_hash IS NULL)
);
CREATE INDEX agents_account ON agents (account_id);

CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agent_id     uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    -- SHA-256 of the token; the token itself is shown once and never stored.
    token_hash   bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    label        text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX api_tokens_agent ON api_tokens (agent_id);

CREATE TABLE support_types (
    id                       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id               uuid NOT NULL REFERENCES accounts (id),
    -- Global: the customer chat lives at /chat/{slug}.
    slug                     citext NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    name                     text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 120),
    routing                  text NOT NULL DEFAULT 'round_robin'
                             CHECK (routing IN ('round_robin', 'least_loaded', 'manual', 'bot_first')),
    queue_sla_secs           integer CHECK (queue_sla_secs > 0),
    first_response_sla_secs  integer CHECK (first_response_sla_secs > 0),
    escalation_target_id     uuid REFERENCES support_types (id),
    escalation_priority_bump integer NOT NULL DEFAULT 0 CHECK (escalation_priority_bump BETWEEN 0 AND 100),
    preferred_wait_secs      integer NOT NULL DEFAULT 60 CHECK (preferred_wait_secs BETWEEN 0 AND 86400),
    bot_agent_id             uuid REFERENCES agents (id),
    csat_enabled             boolean NOT NULL DEFAULT true,
    reason_required          boolean NOT NULL DEFAULT true,
    greeting                 text CHECK (length(greeting) <= 2000),
    business_hours           jsonb,
    created_at               timestamptz NOT NULL DEFAULT now(),
    archived_at              timestamptz,
    CONSTRAINT support_types_no_self_escalation CHECK (escalation_target_id <> id),
    CONSTRAINT support_types_bot_first_has_bot CHECK (routing <> 'bot_first' OR bot_agent_id IS NOT NULL)
);
CREATE INDEX support_types_account ON support_types (account_id);

CREATE TABLE resolution_reasons (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    support_type_id uuid NOT NULL REFERENCES support_types (id),
    label           text NOT NULL CHECK (length(btrim(label)) BETWEEN 1 AND 120),
    position        integer NOT NULL DEFAULT 0,
    archived_at     timestamptz,
    UNIQUE (support_type_id, label)
);

CREATE TABLE agent_skills (
    agent_id        uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    support_type_id uuid NOT NULL REFERENCES support_types (id),
    tier            smallint CHECK (tier BETWEEN 1 AND 9),
    PRIMARY KEY (agent_id, support_type_id)
);
CREATE INDEX agent_skills_type ON agent_skills (support_type_id, agent_id);

CREATE TABLE customers (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id         uuid NOT NULL REFERENCES accounts (id),
    name               text CHECK (length(name) <= 200),
    email              citext CHECK (email ~ '^[^@\s]+@[^@\s]+$'),
    external_ref       text CHECK (length(external_ref) <= 200),
    preferred_agent_id uuid REFERENCES agents (id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, external_ref)
);
CREATE INDEX customers_account_email ON customers (account_id, email);

CREATE TABLE sessions (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id           uuid NOT NULL REFERENCES accounts (id),
    support_type_id      uuid NOT NULL REFERENCES support_types (id),
    customer_id          uuid NOT NULL REFERENCES customers (id),
    -- Set exactly while the session is active.
    owner_id             uuid REFERENCES agents (id),
    -- The agent the session was last taken from: not eligible for the next pick.
    previous_owner_id    uuid REFERENCES agents (id),
    status               text NOT NULL DEFAULT 'queued'
                         CHECK (status IN ('queued', 'active', 'resolved', 'abandoned')),
    priority             integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 1000),
    tier                 smallint CHECK (tier BETWEEN 1 AND 9),
    project_ref          text CHECK (length(project_ref) <= 200),
    created_at           timestamptz NOT NULL DEFAULT now(),
    -- When the session last entered the queue; the queue SLA counts from here.
    queued_at            timestamptz NOT NULL DEFAULT now(),
    assigned_at          timestamptz,
    first_response_at    timestamptz,
    resolved_at          timestamptz,
    resolved_by_id       uuid REFERENCES agents (id),
    resolution_reason_id uuid REFERENCES resolution_reasons (id),
    escalated_at         timestamptz,
    escalation_count     integer NOT NULL DEFAULT 0,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sessions_owner_iff_active CHECK ((status = 'active') = (owner_id IS NOT NULL)),
    CONSTRAINT sessions_resolved_has_time CHECK (status <> 'resolved' OR resolved_at IS NOT NULL)
);
-- The inbox: an agent's active sessions.
CREATE INDEX sessions_inbox ON sessions (owner_id, assigned_at) WHERE status = 'active';
-- The waiting queue, per type, in pick order.
CREATE INDEX sessions_queue ON sessions (support_type_id, priority DESC, queued_at) WHERE status = 'queued';
-- Queue-SLA sweep across all types.
CREATE INDEX sessions_queued_since ON sessions (queued_at) WHERE status = 'queued';
-- Listing and search by account, newest first.
CREATE INDEX sessions_account_created ON sessions (account_id, created_at DESC, id DESC);
CREATE INDEX sessions_type_created ON sessions (support_type_id, created_at DESC, id DESC);
CREATE INDEX sessions_customer ON sessions (customer_id, created_at DESC);

CREATE TABLE assignments (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id   uuid NOT NULL REFERENCES sessions (id),
    agent_id     uuid NOT NULL REFERENCES agents (id),
    reason       text NOT NULL
                 CHECK (reason IN ('auto', 'manual', 'transfer', 'escalation', 'handoff', 'away', 'sla')),
    assigned_by  uuid REFERENCES agents (id),
    started_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    -- The owner's first reply within this assignment (first-response SLA).
    responded_at timestamptz,
    ended_at     timestamptz,
    end_reason   text CHECK (end_reason IN ('resolved', 'abandoned', 'transfer', 'escalation', 'handoff', 'away', 'sla', 'queue')),
    CONSTRAINT assignments_ended_after_start CHECK (ended_at IS NULL OR ended_at >= started_at)
);
-- Invariant 2: one open assignment (one owner) per session.
CREATE UNIQUE INDEX assignments_one_open_per_session ON assignments (session_id) WHERE ended_at IS NULL;
CREATE INDEX assignments_session ON assignments (session_id, id);
CREATE INDEX assignments_agent ON assignments (agent_id, started_at);
-- First-response SLA sweep.
CREATE INDEX assignments_awaiting_reply ON assignments (started_at) WHERE ended_at IS NULL AND responded_at IS NULL;

-- Invariant 1: active_count follows the open assignments, whoever writes them,
-- and the CHECK on agents rejects the row that would exceed the limit.
CREATE FUNCTION assignments_track_load() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.ended_at IS NULL THEN
            UPDATE agents SET active_count = active_count + 1 WHERE id = NEW.agent_id;
        END IF;
    ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.agent_id <> OLD.agent_id THEN
            RAISE EXCEPTION 'an assignment''s agent cannot change' USING ERRCODE = 'check_violation';
        END IF;
        IF OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL THEN
            UPDATE agents SET active_count = active_count - 1 WHERE id = NEW.agent_id;
        ELSIF OLD.ended_at IS NOT NULL AND NEW.ended_at IS NULL THEN
            UPDATE agents SET active_count = active_count + 1 WHERE id = NEW.agent_id;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        IF OLD.ended_at IS NULL THEN
            UPDATE agents SET active_count = active_count - 1 WHERE id = OLD.agent_id;
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER assignments_track_load AFTER INSERT OR UPDATE OR DELETE ON assignments
    FOR EACH ROW EXECUTE FUNCTION assignments_track_load();

CREATE TABLE messages (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id        uuid NOT NULL REFERENCES sessions (id),
    sender_kind       text NOT NULL CHECK (sender_kind IN ('customer', 'agent', 'bot', 'system')),
    sender_agent_id   uuid REFERENCES agents (id),
    body              text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    client_message_id text CHECK (length(client_message_id) BETWEEN 1 AND 100),
    created_at        timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT messages_agent_sender CHECK ((sender_kind IN ('agent', 'bot')) = (sender_agent_id IS NOT NULL)),
    -- Invariant 4: sending the same client message id twice stores one message.
    CONSTRAINT messages_idempotent UNIQUE (session_id, client_message_id)
);
-- History pages by cursor.
CREATE INDEX messages_history ON messages (session_id, id DESC);

CREATE TABLE notes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES sessions (id),
    author_id  uuid NOT NULL REFERENCES agents (id),
    body       text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notes_session ON notes (session_id, id);

CREATE TABLE tags (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id),
    name       citext NOT NULL CHECK (name ~ '^[[:alnum:]][[:alnum:] _:/.-]{0,62}$'),
    color      text NOT NULL DEFAULT 'slate' CHECK (color ~ '^[a-z]{3,10}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, name)
);

CREATE TABLE session_tags (
    session_id uuid NOT NULL REFERENCES sessions (id),
    tag_id     uuid NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    source     text NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'rule', 'project')),
    added_by   uuid REFERENCES agents (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, tag_id)
);
CREATE INDEX session_tags_tag ON session_tags (tag_id);

CREATE TABLE tag_rules (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id      uuid NOT NULL REFERENCES accounts (id),
    tag_id          uuid NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('keyword', 'regex', 'project_ref', 'support_type')),
    pattern         text NOT NULL DEFAULT '' CHECK (length(pattern) <= 500),
    support_type_id uuid REFERENCES support_types (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tag_rules_type_rule_names_type CHECK (kind <> 'support_type' OR support_type_id IS NOT NULL)
);
CREATE INDEX tag_rules_account ON tag_rules (account_id);

CREATE TABLE canned_responses (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id      uuid NOT NULL REFERENCES accounts (id),
    support_type_id uuid REFERENCES support_types (id),
    shortcut        citext NOT NULL CHECK (shortcut ~ '^[a-z0-9][a-z0-9_-]{0,39}$'),
    title           text NOT NULL CHECK (length(btrim(title)) BETWEEN 1 AND 120),
    body            text NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, shortcut)
);

-- Invariant 5: one CSAT per session.
CREATE TABLE csat (
    session_id uuid PRIMARY KEY REFERENCES sessions (id),
    score      smallint NOT NULL CHECK (score BETWEEN 1 AND 5),
    comment    text CHECK (length(comment) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    topic        text NOT NULL,
    account_id   uuid,
    session_id   uuid,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
CREATE INDEX outbox_session ON outbox (session_id, id);

CREATE TABLE processed (
    consumer     text NOT NULL,
    event_id     uuid NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id uuid,
    actor_id   uuid,
    action     text NOT NULL,
    target     text,
    details    jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_account ON audit_log (account_id, id DESC);

-- Wake the assignment engine (on any node) when a session enters the queue or
-- an agent gains room. The periodic sweep covers a lost notification.
CREATE FUNCTION notify_assignment_needed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('switchboard_assignment', '');
    RETURN NULL;
END $$;
CREATE TRIGGER sessions_entered_queue AFTER INSERT OR UPDATE OF status, support_type_id ON sessions
    FOR EACH ROW WHEN (NEW.status = 'queued') EXECUTE FUNCTION notify_assignment_needed();
CREATE TRIGGER agents_gained_room AFTER UPDATE OF presence, active_count, max_concurrent ON agents
    FOR EACH ROW WHEN (NEW.presence = 'online' AND NEW.active_count < NEW.max_concurrent AND (
        OLD.presence <> 'online' OR NEW.active_count < OLD.active_count OR NEW.max_concurrent > OLD.max_concurrent))
    EXECUTE FUNCTION notify_assignment_needed();
CREATE TRIGGER agent_skills_added AFTER INSERT ON agent_skills
    FOR EACH ROW EXECUTE FUNCTION notify_assignment_needed();
