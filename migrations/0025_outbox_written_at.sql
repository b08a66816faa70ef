-- An event's created_at is the moment its row is written, not its
-- transaction's start (now()): a long transaction no longer makes its events
-- look older than they are, and the consumers' latency histogram
-- (switchboard_consumer_event_latency_seconds) and the relay's lag measure
-- from the write.
ALTER TABLE outbox ALTER COLUMN created_at SET DEFAULT clock_timestamp();
