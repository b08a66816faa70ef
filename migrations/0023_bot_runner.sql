-- The built-in bot (issue 13): a support type's bot can answer on its own
-- (mode `auto`) from the text provider, or be driven from outside through
-- the API (`external`, the default: nothing here acts for it).

CREATE TABLE bot_settings (
    support_type_id  uuid PRIMARY KEY REFERENCES support_types (id),
    account_id       uuid NOT NULL REFERENCES accounts (id),
    mode             text NOT NULL DEFAULT 'external' CHECK (mode IN ('external', 'auto')),
    -- What the model is told about this type (tone, scope, what it must
    -- never promise). Only the OpenAI-compatible provider reads it.
    instructions     text NOT NULL DEFAULT '' CHECK (length(instructions) <= 4000),
    -- The confidence a reply needs to be sent; below it the bot asks one
    -- clarifying question, then hands off.
    threshold        real NOT NULL DEFAULT 0.5 CHECK (threshold BETWEEN 0 AND 1),
    -- Bot replies (answers and questions) before it hands off unasked.
    turn_limit       smallint NOT NULL DEFAULT 6 CHECK (turn_limit BETWEEN 1 AND 50),
    -- Words or phrases that send the session to a person at once.
    handoff_keywords text[] NOT NULL DEFAULT '{}'
                     CHECK (cardinality(handoff_keywords) <= 50 AND array_position(handoff_keywords, NULL) IS NULL),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- When the session was last reopened: a bot's context (its turns, the
-- history it reads, the reasons it hands off for) starts there.
ALTER TABLE sessions ADD COLUMN reopened_at timestamptz;

-- What the built-in bot did, one row per step, written in the same
-- transaction as the step and its consumer's `processed` row.
CREATE TABLE bot_turns (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES sessions (id),
    account_id  uuid NOT NULL REFERENCES accounts (id),
    bot_id      uuid NOT NULL REFERENCES agents (id),
    kind        text NOT NULL CHECK (kind IN ('greeting', 'answer', 'clarify', 'handoff')),
    -- The event the step answered.
    event_id    uuid NOT NULL,
    message_id  bigint REFERENCES messages (id),
    confidence  real CHECK (confidence BETWEEN 0 AND 1),
    method      text CHECK (method IN ('retrieval', 'llm')),
    sources     jsonb NOT NULL DEFAULT '[]',
    -- For a handoff: its reason. For a reply from the fallback: why the
    -- preferred provider was not used.
    note        text CHECK (length(note) <= 500),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT bot_turns_once UNIQUE (event_id, kind),
    CONSTRAINT bot_turns_message CHECK ((kind = 'handoff') = (message_id IS NULL))
);
CREATE INDEX bot_turns_session ON bot_turns (session_id, id);
CREATE INDEX bot_turns_account ON bot_turns (account_id, created_at);
