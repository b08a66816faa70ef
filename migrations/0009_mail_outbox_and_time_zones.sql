-- Issue 10, section 5: e-mail is sent after commit, and business hours name
-- an IANA time zone.

-- mail_log becomes the e-mail outbox. The consumers insert a row (with the
-- message) in the transaction that records their event; the mail worker
-- claims due rows (FOR UPDATE SKIP LOCKED, pushing next_attempt_at out as a
-- lease), sends with no transaction open, and marks them sent, or schedules
-- a retry with backoff. next_attempt_at is NULL once sent or given up.
-- event_id is the source's id: the event's, or the blast's for blast mail
-- (one mail per blast and address).
ALTER TABLE mail_log
    ADD COLUMN body            text NOT NULL DEFAULT '',
    ADD COLUMN attempts        integer NOT NULL DEFAULT 0,
    ADD COLUMN next_attempt_at timestamptz;
-- Rows written before this migration were sent (or refused) inside their
-- transaction: none is due. New rows are due at once and carry their body.
ALTER TABLE mail_log ALTER COLUMN next_attempt_at SET DEFAULT now();
ALTER TABLE mail_log ALTER COLUMN body DROP DEFAULT;
ALTER TABLE mail_log ADD CONSTRAINT mail_log_body_length CHECK (length(body) <= 100000);
CREATE INDEX mail_log_due ON mail_log (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
