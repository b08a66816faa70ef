-- Issue 12: reports from per-session facts and mergeable daily rollups.
--
-- The reports consumer recomputes a session's row in report_facts from the
-- session's history on each of its events, and moves the difference between
-- the old and the new row into report_rollups, in the transaction that marks
-- the event processed (domain::reports). So the rollups are always the sum
-- of the facts' contributions, whatever the order or the number of events.

-- Reports count days in the account's time zone (an IANA name, checked by
-- the domain with chrono-tz).
ALTER TABLE accounts ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC'
    CHECK (length(time_zone) BETWEEN 1 AND 64);

-- Reopens are a report figure of their own; the outbox is pruned, so the
-- count lives on the session.
ALTER TABLE sessions ADD COLUMN reopen_count integer NOT NULL DEFAULT 0 CHECK (reopen_count >= 0);

-- What the reports know of one session, as last computed from its history.
CREATE TABLE report_facts (
    session_id        uuid PRIMARY KEY REFERENCES sessions (id),
    account_id        uuid NOT NULL REFERENCES accounts (id),
    support_type_id   uuid NOT NULL REFERENCES support_types (id),
    status            text NOT NULL,
    created_at        timestamptz NOT NULL,
    first_assigned_at timestamptz,
    first_agent_id    uuid,
    -- When a human first owned the session (after any bot).
    human_start_at    timestamptz,
    -- The first human reply and who wrote it.
    frt_at            timestamptz,
    frt_agent_id      uuid,
    resolved_at       timestamptz,
    resolved_by_id    uuid,
    reason_id         uuid,
    -- Time the resolver owned the session, over all their assignments.
    handle_ms         bigint,
    reopen_count      integer NOT NULL DEFAULT 0,
    bot_involved      boolean NOT NULL DEFAULT false,
    human_involved    boolean NOT NULL DEFAULT false,
    handoff_reasons   text[] NOT NULL DEFAULT '{}',
    csat              smallint,
    queue_sla_secs    integer,
    frt_sla_secs      integer,
    tag_ids           uuid[] NOT NULL DEFAULT '{}',
    -- The zone its days were counted in (the account's, when computed).
    time_zone         text NOT NULL
);
CREATE INDEX report_facts_created ON report_facts (account_id, created_at);
CREATE INDEX report_facts_resolved ON report_facts (account_id, resolved_at) WHERE resolved_at IS NOT NULL;
CREATE INDEX report_facts_frt ON report_facts (account_id, frt_at) WHERE frt_at IS NOT NULL;
CREATE INDEX report_facts_tags ON report_facts USING gin (tag_ids);

-- Sums of the facts' contributions per day, at four levels: per (type,
-- agent), per type (agent_id nil), per agent (support_type_id nil) and for
-- the account (both nil). A histogram metric has one row per log-spaced
-- bucket (domain::reports::histogram); a plain count has bucket -1.
-- n is how many values, total their exact sum (milliseconds for times).
CREATE TABLE report_rollups (
    account_id      uuid NOT NULL REFERENCES accounts (id),
    support_type_id uuid NOT NULL,
    agent_id        uuid NOT NULL,
    day             date NOT NULL,
    metric          text NOT NULL,
    bucket          smallint NOT NULL,
    n               bigint NOT NULL,
    total           bigint NOT NULL,
    PRIMARY KEY (account_id, support_type_id, agent_id, day, metric, bucket)
);
-- Global admins' cross-account reports.
CREATE INDEX report_rollups_day ON report_rollups (support_type_id, agent_id, day);
