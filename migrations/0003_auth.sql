-- Authentication: browser sessions of agents, customer chat tokens, rate
-- limits, and the per-account settings of the chat widget.
--
-- Secrets are never stored in the clear: a session cookie and a customer
-- token are kept as their SHA-256 only.

-- The HMAC-SHA256 key with which a host site signs its customers' identity;
-- NULL means identity verification is not configured for the account.
ALTER TABLE accounts ADD COLUMN identity_secret bytea CHECK (length(identity_secret) >= 32);
-- The origins allowed to embed the chat widget (frame-ancestors), each like
-- https://shop.example.com. Validated by the domain layer.
ALTER TABLE accounts ADD COLUMN widget_origins text[] NOT NULL DEFAULT '{}'
    CHECK (cardinality(widget_origins) <= 20);

ALTER TABLE agents ADD COLUMN password_changed_at timestamptz;

-- Server-side browser sessions of agents and admins. The cookie holds the
-- token; only its SHA-256 is stored.
CREATE TABLE auth_sessions (
    id_hash      bytea PRIMARY KEY CHECK (length(id_hash) = 32),
    agent_id     uuid NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- Idle expiry counts from here.
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    -- Absolute expiry.
    expires_at   timestamptz NOT NULL,
    ip           inet,
    user_agent   text CHECK (length(user_agent) <= 500),
    CONSTRAINT auth_sessions_expire_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX auth_sessions_agent ON auth_sessions (agent_id);
CREATE INDEX auth_sessions_expiry ON auth_sessions (expires_at);

-- A customer's access to the one session they opened (its messages and its
-- CSAT). Only the SHA-256 of the token is stored.
CREATE TABLE customer_tokens (
    token_hash  bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    session_id  uuid NOT NULL REFERENCES sessions (id),
    customer_id uuid NOT NULL REFERENCES customers (id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    CONSTRAINT customer_tokens_expire_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX customer_tokens_session ON customer_tokens (session_id);
CREATE INDEX customer_tokens_expiry ON customer_tokens (expires_at);

-- Fixed-window counters (login attempts, chat opening, messages). A row per
-- key and window; old windows are pruned.
CREATE TABLE rate_limits (
    key          text NOT NULL CHECK (length(key) <= 300),
    window_start timestamptz NOT NULL,
    count        integer NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_limits_window ON rate_limits (window_start);

