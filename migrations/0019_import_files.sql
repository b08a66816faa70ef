-- Issue 15: imported history keeps its attachments.
--
-- An import stores a message's file before the batch transaction that
-- writes the message (fetching it inside the transaction would hold the
-- batch's locks across the network). So it first queues the file's objects
-- for deletion, not before a day has passed, then stores them; the batch
-- that commits their rows takes them off the queue. A crash, a refused
-- batch or a skipped conversation leaves them queued, and the sweep
-- deletes them: no object outlives the rows that should name it.
ALTER TABLE object_deletions ADD COLUMN not_before timestamptz NOT NULL DEFAULT now();

-- The files of imported messages that were not imported, with reasons
-- (the first 1,000; all are counted in `counts`).
ALTER TABLE import_runs ADD COLUMN file_skips jsonb NOT NULL DEFAULT '[]';
