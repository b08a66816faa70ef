-- The raw limit of "outbox to consumer" (pgbench -f): the statements one
-- event costs on the embedded path, one event at a time: its write in the
-- producing transaction, the relay's hand-over to one consumer's inbox, the
-- consumer's claim, and the commit that marks it processed and removes the
-- inbox row (consumers::embedded). Without the application, a handler's own
-- effect, batching or NOTIFY.
INSERT INTO outbox (topic, payload) VALUES ('raw.event', '{}'::jsonb) RETURNING id AS outbox_id, event_id \gset
BEGIN;
UPDATE outbox SET published_at = now() WHERE id = :outbox_id;
INSERT INTO consumer_inbox (consumer, outbox_id) VALUES ('raw', :outbox_id);
END;
UPDATE consumer_inbox SET next_attempt_at = now() + interval '60 seconds'
  WHERE consumer = 'raw' AND outbox_id = :outbox_id;
BEGIN;
INSERT INTO processed (consumer, event_id) VALUES ('raw', ':event_id');
DELETE FROM consumer_inbox WHERE consumer = 'raw' AND outbox_id = :outbox_id;
END;
