-- Issue 15: attachments in chat. The bytes live in an object store (the
-- local file system, or S3); their metadata lives here.

-- Per-account limits. An account without a row gets the defaults (the
-- column defaults, read by domain::attachments::policy).
CREATE TABLE attachment_policies (
    account_id      uuid PRIMARY KEY REFERENCES accounts (id),
    max_bytes       bigint NOT NULL DEFAULT 10485760 CHECK (max_bytes BETWEEN 1024 AND 104857600),
    max_per_message integer NOT NULL DEFAULT 10 CHECK (max_per_message BETWEEN 1 AND 20),
    -- The allowed kinds of file; executables are never among them.
    kinds           text[] NOT NULL DEFAULT ARRAY['image', 'pdf', 'text', 'office']
        CHECK (cardinality(kinds) >= 1 AND kinds <@ ARRAY['image', 'pdf', 'text', 'office']),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- A message may now be attachments alone: its body may be empty when it
-- carries at least one. attachment_count is written with the message, in
-- the transaction that links the attachments to it.
ALTER TABLE messages DROP CONSTRAINT messages_body_check;
ALTER TABLE messages
    ADD COLUMN attachment_count smallint NOT NULL DEFAULT 0 CHECK (attachment_count BETWEEN 0 AND 20),
    ADD CONSTRAINT messages_body_length CHECK (length(body) <= 10000),
    ADD CONSTRAINT messages_body_or_attachments CHECK (length(body) >= 1 OR attachment_count > 0),
    -- The target of attachments' (message_id, session_id) reference.
    ADD CONSTRAINT messages_id_session UNIQUE (id, session_id);

CREATE TABLE attachments (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id           uuid NOT NULL REFERENCES accounts (id),
    session_id           uuid NOT NULL REFERENCES sessions (id),
    -- NULL until a message references it; unreferenced uploads are removed
    -- after a day (domain::attachments::sweep).
    message_id           bigint,
    uploader_kind        text NOT NULL CHECK (uploader_kind IN ('customer', 'agent', 'bot', 'system')),
    uploader_agent_id    uuid REFERENCES agents (id),
    file_name            text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    -- Sniffed from the bytes, never taken from the client.
    content_type         text NOT NULL CHECK (content_type ~ '^[a-z]+/[a-z0-9.+-]+$'),
    kind                 text NOT NULL CHECK (kind IN ('image', 'pdf', 'text', 'office')),
    size_bytes           bigint NOT NULL CHECK (size_bytes > 0),
    sha256               text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    storage_key          text NOT NULL UNIQUE,
    -- Raster images: their size, and their thumbnail's (made on upload).
    width                integer CHECK (width > 0),
    height               integer CHECK (height > 0),
    thumbnail_key        text UNIQUE,
    thumbnail_width      integer CHECK (thumbnail_width > 0),
    thumbnail_height     integer CHECK (thumbnail_height > 0),
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT attachments_agent_uploader CHECK ((uploader_kind IN ('agent', 'bot')) = (uploader_agent_id IS NOT NULL)),
    -- An attachment belongs to a message of its own session, never another's.
    CONSTRAINT attachments_message_same_session FOREIGN KEY (message_id, session_id)
        REFERENCES messages (id, session_id),
    CONSTRAINT attachments_thumbnail_whole CHECK (
        (thumbnail_key IS NULL) = (thumbnail_width IS NULL)
        AND (thumbnail_key IS NULL) = (thumbnail_height IS NULL)
        AND (thumbnail_key IS NULL OR (width IS NOT NULL AND height IS NOT NULL)))
);
CREATE INDEX attachments_message ON attachments (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX attachments_unreferenced ON attachments (created_at) WHERE message_id IS NULL;
CREATE INDEX attachments_session ON attachments (session_id);

-- Keys the server signs with (short-lived attachment URLs), shared by every
-- node through the database. The first node to need one creates it.
CREATE TABLE signing_keys (
    purpose    text PRIMARY KEY CHECK (purpose ~ '^[a-z_]{1,40}$'),
    key        bytea NOT NULL CHECK (length(key) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);
