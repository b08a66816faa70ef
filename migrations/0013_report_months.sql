-- Issue 12: reports over long ranges read months, not days. Each
-- contribution is also summed per calendar month (grain 'm', day = the
-- month's first day, in the account's time zone) beside the per-day rows
-- (grain 'd'). A 90-day report's per-agent and per-type tables then read
-- the full months' rows and the days at either end: ~30× fewer rows.
-- Existing rows are days; `switchboard rollups rebuild` adds the months.
ALTER TABLE report_rollups ADD COLUMN grain "char" NOT NULL DEFAULT 'd' CHECK (grain IN ('d', 'm'));
ALTER TABLE report_rollups DROP CONSTRAINT report_rollups_pkey;
ALTER TABLE report_rollups ADD PRIMARY KEY (account_id, support_type_id, agent_id, grain, day, metric, bucket);
DROP INDEX report_rollups_day;
CREATE INDEX report_rollups_day ON report_rollups (support_type_id, agent_id, grain, day);
