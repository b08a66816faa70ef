-- Bots and AI on the session API (issue 13): answer retrieval over canned
-- replies and past agent answers, the suggestion log, and typed handoffs.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The text search configuration of the type's language (stemming and stop
-- words for retrieval). A regconfig, so that an unknown language is refused
-- by PostgreSQL itself.
ALTER TABLE support_types ADD COLUMN language regconfig NOT NULL DEFAULT 'english';

-- Canned replies carry the language they are indexed in (their type's, or
-- English for account-wide ones); the search vector weighs the title (the
-- question it answers) above the body.
ALTER TABLE canned_responses
    ADD COLUMN language regconfig NOT NULL DEFAULT 'english',
    ADD COLUMN search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector(language, title), 'A') || setweight(to_tsvector(language, body), 'B')
    ) STORED;
CREATE INDEX canned_responses_search ON canned_responses USING gin (search);
CREATE INDEX canned_responses_title_trgm ON canned_responses USING gin (title gin_trgm_ops);

-- Question and answer pairs taken from resolved sessions: the customer's
-- message and the human agent reply that followed it. Written by the
-- automated chat consumer when a session is resolved; a session reopened and
-- resolved again adds its new pairs only (answer_message_id is unique).
CREATE TABLE past_answers (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id          uuid NOT NULL REFERENCES accounts (id),
    support_type_id     uuid NOT NULL REFERENCES support_types (id),
    session_id          uuid NOT NULL REFERENCES sessions (id),
    question_message_id bigint NOT NULL REFERENCES messages (id),
    answer_message_id   bigint NOT NULL UNIQUE REFERENCES messages (id),
    language            regconfig NOT NULL,
    question            text NOT NULL CHECK (length(question) BETWEEN 1 AND 10000),
    answer              text NOT NULL CHECK (length(answer) BETWEEN 1 AND 10000),
    search              tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector(language, question), 'A') || setweight(to_tsvector(language, answer), 'B')
    ) STORED,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX past_answers_search ON past_answers USING gin (search);
CREATE INDEX past_answers_question_trgm ON past_answers USING gin (question gin_trgm_ops);
CREATE INDEX past_answers_type ON past_answers (support_type_id, id);
CREATE INDEX past_answers_session ON past_answers (session_id);

-- Every suggestion shown to an agent, and what the agent did with it.
CREATE TABLE suggestions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id  uuid NOT NULL REFERENCES sessions (id),
    agent_id    uuid NOT NULL REFERENCES agents (id),
    -- The customer message it answers.
    message_id  bigint REFERENCES messages (id),
    rank        smallint NOT NULL CHECK (rank >= 1),
    body        text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    confidence  real NOT NULL CHECK (confidence BETWEEN 0 AND 1),
    method      text NOT NULL CHECK (method IN ('retrieval', 'llm')),
    sources     jsonb NOT NULL,
    outcome     text CHECK (outcome IN ('accepted', 'edited', 'dismissed')),
    outcome_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT suggestions_outcome_time CHECK ((outcome IS NULL) = (outcome_at IS NULL))
);
CREATE INDEX suggestions_session ON suggestions (session_id, id);
CREATE INDEX suggestions_agent ON suggestions (agent_id, created_at);

-- Every handoff from a bot (or a human taking over a bot's session), with
-- its typed reason. The reassignment itself is in `assignments`.
CREATE TABLE handoffs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id    uuid NOT NULL REFERENCES sessions (id),
    account_id    uuid NOT NULL REFERENCES accounts (id),
    from_agent_id uuid NOT NULL REFERENCES agents (id),
    reason        text NOT NULL CHECK (reason IN ('customer_request', 'low_confidence', 'turn_limit', 'keyword',
                                                  'policy', 'provider_failure', 'takeover')),
    summary       text NOT NULL DEFAULT '' CHECK (length(summary) <= 500),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX handoffs_session ON handoffs (session_id, id);
CREATE INDEX handoffs_account ON handoffs (account_id, created_at);
