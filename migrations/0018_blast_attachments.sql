-- Issue 15: a blast may carry one attachment.
--
-- The admin uploads the file to the account first: a staged row, in no
-- session. The blast takes it (blasts.attachment_id, one blast per file),
-- and each recipient's message carries its own row in its own session that
-- names the same objects: ten thousand recipients, one file in the store.
-- So a key is no longer unique to one row, and an object is deleted only
-- when the last row naming it goes (domain::attachments).
ALTER TABLE attachments
    ALTER COLUMN session_id DROP NOT NULL,
    DROP CONSTRAINT attachments_storage_key_key,
    DROP CONSTRAINT attachments_thumbnail_key_key,
    -- A staged file is an agent's upload that no message carries.
    ADD CONSTRAINT attachments_staged_by_an_agent
        CHECK (session_id IS NOT NULL OR (message_id IS NULL AND uploader_kind = 'agent'));
CREATE INDEX attachments_storage_key ON attachments (storage_key);
CREATE INDEX attachments_thumbnail_key ON attachments (thumbnail_key) WHERE thumbnail_key IS NOT NULL;

ALTER TABLE blasts ADD COLUMN attachment_id uuid UNIQUE REFERENCES attachments (id);

-- Whoever deletes attachment rows, the objects that no remaining row names
-- are queued for deletion in the same transaction (drained after commit by
-- domain::attachments::drain_deletions). A staged file outlives its copies:
-- its blast holds it, so two copies deleted at once never both miss it.
CREATE FUNCTION attachments_queue_orphaned_objects() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO object_deletions (storage_key)
    SELECT DISTINCT v.k FROM gone, LATERAL (VALUES (gone.storage_key), (gone.thumbnail_key)) v (k)
    WHERE v.k IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM attachments a WHERE a.storage_key = v.k OR a.thumbnail_key = v.k)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER attachments_deleted AFTER DELETE ON attachments REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION attachments_queue_orphaned_objects();
