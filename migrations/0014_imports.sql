-- Imports of another helpdesk's history (DeskPro, Zendesk, Chatwoot, a
-- generic JSONL/CSV). A run is one file imported into one account; it
-- commits in batches, each with its checkpoint (`position`, the number of
-- the file's conversations done, in file order), so a crash or a cancel
-- resumes where the last batch committed.
CREATE TABLE import_runs (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id   uuid NOT NULL REFERENCES accounts (id),
    -- Who started it in the browser; NULL for the CLI.
    created_by   uuid REFERENCES agents (id),
    format       text NOT NULL CHECK (format IN ('deskpro', 'zendesk', 'chatwoot', 'jsonl', 'csv')),
    -- The namespace of the source's ids (two DeskPro instances are two sources).
    source       text NOT NULL CHECK (source ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    file_name    text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    -- Where an uploaded file is kept (the attachments' object store) until
    -- the run completes; NULL for the CLI, which reads its own file.
    file_key     text CHECK (length(file_key) <= 300),
    file_sha256  bytea NOT NULL CHECK (length(file_sha256) = 32),
    file_bytes   bigint NOT NULL CHECK (file_bytes >= 0),
    status       text NOT NULL DEFAULT 'ready'
                 CHECK (status IN ('ready', 'running', 'cancelling', 'cancelled', 'failed', 'completed')),
    mapping      jsonb NOT NULL DEFAULT '{}',
    -- The dry run's counts, as last computed for `mapping`.
    plan         jsonb,
    total        integer NOT NULL DEFAULT 0 CHECK (total >= 0),
    position     integer NOT NULL DEFAULT 0,
    created      integer NOT NULL DEFAULT 0,
    matched      integer NOT NULL DEFAULT 0,
    skipped      integer NOT NULL DEFAULT 0,
    -- Everything counted so far (messages, notes, customers...), as JSON.
    counts       jsonb NOT NULL DEFAULT '{}',
    -- The first skips with their reasons (capped by the domain layer).
    skips        jsonb NOT NULL DEFAULT '[]',
    error        text CHECK (length(error) <= 2000),
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT import_runs_position CHECK (position BETWEEN 0 AND total),
    CONSTRAINT import_runs_counts CHECK (created + matched + skipped = position)
);
-- One run at a time per account writes (the importer also holds an
-- advisory lock, so a run whose process died is recognised at once).
CREATE UNIQUE INDEX import_runs_one_running ON import_runs (account_id) WHERE status IN ('running', 'cancelling');
CREATE INDEX import_runs_account ON import_runs (account_id, created_at DESC);
CREATE INDEX import_runs_file ON import_runs (account_id, source, file_sha256);

-- (source, source id) → local id: running an import again creates nothing twice.
CREATE TABLE import_map (
    account_id uuid NOT NULL REFERENCES accounts (id),
    source     text NOT NULL CHECK (source ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
    kind       text NOT NULL CHECK (kind IN ('session', 'customer', 'agent')),
    source_id  text NOT NULL CHECK (length(source_id) BETWEEN 1 AND 200),
    local_id   uuid NOT NULL,
    run_id     uuid REFERENCES import_runs (id),
    PRIMARY KEY (account_id, source, kind, source_id)
);

-- Imported labels keep their own origin beside manual, rule and project tags.
ALTER TABLE session_tags DROP CONSTRAINT session_tags_source_check;
ALTER TABLE session_tags ADD CONSTRAINT session_tags_source_check
    CHECK (source IN ('manual', 'rule', 'project', 'import'));
