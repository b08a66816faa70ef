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

-- Business hours: the fixed utc_offset_minutes becomes time_zone. A whole
-- number of hours maps to the Etc/GMT zone with that same fixed offset
-- (POSIX sign: +60 minutes is Etc/GMT-1); 0 or no offset is UTC. An offset
-- that is no whole number of hours (India's +330, say) has no Etc zone and
-- is left as it is: it is still evaluated as a fixed offset, exactly as
-- before, until an admin picks a time zone (domain::business_hours).
UPDATE support_types
SET business_hours = (business_hours - 'utc_offset_minutes') || jsonb_build_object('time_zone',
        CASE
            WHEN coalesce((business_hours ->> 'utc_offset_minutes')::integer, 0) = 0 THEN 'UTC'
            WHEN (business_hours ->> 'utc_offset_minutes')::integer > 0
                THEN 'Etc/GMT-' || ((business_hours ->> 'utc_offset_minutes')::integer / 60)
            ELSE 'Etc/GMT+' || (-(business_hours ->> 'utc_offset_minutes')::integer / 60)
        END)
WHERE jsonb_typeof(business_hours) = 'object'
  AND NOT business_hours ? 'time_zone'
  AND (NOT business_hours ? 'utc_offset_minutes'
       OR (jsonb_typeof(business_hours -> 'utc_offset_minutes') = 'number'
           AND (business_hours ->> 'utc_offset_minutes')::integer % 60 = 0
           AND (business_hours ->> 'utc_offset_minutes')::integer BETWEEN -720 AND 840));
