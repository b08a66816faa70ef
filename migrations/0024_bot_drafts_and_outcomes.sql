-- Issue 13, third slice: bot drafts that a person approves, and the bot's
-- resolutions (confirmed by the customer, or assumed after 24 quiet hours).

-- `drafts`: the built-in bot decides as in `auto`, but what it would say
-- waits for a person of the type to send, edit or discard it.
ALTER TABLE bot_settings DROP CONSTRAINT bot_settings_mode_check;
ALTER TABLE bot_settings ADD CONSTRAINT bot_settings_mode_check CHECK (mode IN ('external', 'auto', 'drafts'));

-- A drafted step has no message (yet); a handoff never has one.
ALTER TABLE bot_turns DROP CONSTRAINT bot_turns_message;
ALTER TABLE bot_turns ADD CONSTRAINT bot_turns_message CHECK (kind <> 'handoff' OR message_id IS NULL);

CREATE TABLE bot_drafts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES sessions (id),
    account_id  uuid NOT NULL REFERENCES accounts (id),
    bot_id      uuid NOT NULL REFERENCES agents (id),
    kind        text NOT NULL CHECK (kind IN ('greeting', 'answer', 'clarify')),
    -- The event the bot's step answered: a redelivery drafts nothing twice.
    event_id    uuid NOT NULL,
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    -- The newest customer message the draft answers: later steps answer
    -- only what came after it, as if the draft had been sent.
    question_message_id bigint REFERENCES messages (id),
    confidence  real CHECK (confidence BETWEEN 0 AND 1),
    method      text CHECK (method IN ('retrieval', 'llm')),
    sources     jsonb NOT NULL DEFAULT '[]',
    -- `expired`: the bot's assignment ended (a takeover, a handoff, the
    -- end of the session) before anyone decided.
    status      text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'discarded', 'expired')),
    -- Sent as written, or after the person changed it.
    edited      boolean NOT NULL DEFAULT false,
    decided_by  uuid REFERENCES agents (id),
    decided_at  timestamptz,
    message_id  bigint REFERENCES messages (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT bot_drafts_once UNIQUE (event_id, kind),
    CONSTRAINT bot_drafts_decided CHECK ((status = 'pending') = (decided_at IS NULL)
                                         AND (status IN ('sent', 'discarded')) = (decided_by IS NOT NULL)),
    CONSTRAINT bot_drafts_sent CHECK ((status = 'sent') = (message_id IS NOT NULL))
);
CREATE INDEX bot_drafts_session ON bot_drafts (session_id, id);
CREATE INDEX bot_drafts_pending ON bot_drafts (account_id, session_id) WHERE status = 'pending';

-- A session a bot resolved: the customer said it helped (`confirmed`), or
-- left the bot's answer without a word for 24 hours (`assumed`). A reopen
-- after `resolved_at` takes the resolution back in the reports (the row
-- stays: it is what happened).
CREATE TABLE bot_resolutions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id      uuid NOT NULL REFERENCES sessions (id),
    account_id      uuid NOT NULL REFERENCES accounts (id),
    support_type_id uuid NOT NULL REFERENCES support_types (id),
    bot_id          uuid NOT NULL REFERENCES agents (id),
    kind            text NOT NULL CHECK (kind IN ('confirmed', 'assumed')),
    resolved_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bot_resolutions_account ON bot_resolutions (account_id, resolved_at);
CREATE INDEX bot_resolutions_session ON bot_resolutions (session_id);

-- The reports read handoffs and suggestions by time.
CREATE INDEX suggestions_created ON suggestions (created_at);
