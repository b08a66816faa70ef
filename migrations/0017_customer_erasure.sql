-- Issue 15: deleting a customer's data deletes their files.
--
-- An erased customer keeps their row (the sessions, and the reports counted
-- from them, stay true) but nothing that names them: the CHECK makes an
-- erased row with a name, an address or an external reference impossible,
-- whoever writes it.
ALTER TABLE customers
    ADD COLUMN erased_at timestamptz,
    ADD CONSTRAINT customers_erased_names_nobody
        CHECK (erased_at IS NULL OR (name IS NULL AND email IS NULL AND external_ref IS NULL));

-- Objects to delete from the attachment store. A transaction that drops an
-- attachment row queues its objects here, so a store that is down when the
-- transaction commits cannot leave a file nobody knows of: the sweep drains
-- this table until each delete succeeds.
CREATE TABLE object_deletions (
    storage_key text PRIMARY KEY CHECK (length(storage_key) BETWEEN 1 AND 500),
    queued_at   timestamptz NOT NULL DEFAULT now(),
    attempts    integer NOT NULL DEFAULT 0
);

-- Which session and which customer an e-mail was about, so that erasing a
-- customer finds the mail that quotes them (replies, alerts, blasts).
ALTER TABLE mail_log
    ADD COLUMN session_id uuid REFERENCES sessions (id),
    ADD COLUMN customer_id uuid REFERENCES customers (id);
CREATE INDEX mail_log_session ON mail_log (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX mail_log_customer ON mail_log (customer_id) WHERE customer_id IS NOT NULL;
