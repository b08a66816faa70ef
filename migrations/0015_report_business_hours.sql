-- Issue 12: business-hours values beside wall-clock ones. A fact keeps the
-- business hours its type had when the fact was computed, so that its old
-- contributions (wait, first response and resolution counted in open hours
-- only: metrics wait_bh, frt_bh, resolution_bh) can be taken back exactly
-- when it is recomputed. Existing facts have none: `switchboard rollups
-- rebuild` counts their business hours.
ALTER TABLE report_facts ADD COLUMN business_hours jsonb;
