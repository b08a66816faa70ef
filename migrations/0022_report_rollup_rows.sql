-- Issue 12: one rollup row per metric, not per histogram bucket.
--
-- A whole account's report over 90 days read ~445,000 rollup rows
-- (measured over 1M sessions: p99 447 ms against the 200 ms goal): every
-- agent's and every type's days, each with a row per histogram bucket
-- (a wait spreads over ~60 buckets) and a row per resolution reason (an
-- agent resolves sessions of every type: 84 reasons in the bench). The
-- rows are now:
--   * a plain count: `n` (and `total`, 0);
--   * a histogram (a duration, or CSAT's score): `n` values summing to
--     `total`, and the count of each bucket from `lo` on in `counts`
--     (counts[1] is bucket `lo`; no zeros at either end);
--   * a breakdown (`reason`, `handoff`): `n` in all and `parts`, the count
--     per reason id or handoff reason (no zero parts).
-- So a day of one agent is about a dozen rows, whatever the buckets and
-- reasons. The sums still merge exactly: the two functions below add a
-- delta to a row in the upsert, and both keep the canonical form above, so
-- rows that a live refresh and a rebuild reach are equal.

-- The sum of two histograms, each `lo` and its counts; zeros at either end
-- are trimmed (an empty result is bucket 0 with no counts).
CREATE FUNCTION report_histogram_add(a_lo smallint, a bigint[], b_lo smallint, b bigint[],
                                     OUT lo smallint, OUT counts bigint[])
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH s AS (
        SELECT i, coalesce(a[i - a_lo + 1], 0) + coalesce(b[i - b_lo + 1], 0) AS v
          FROM generate_series(
                   CASE WHEN cardinality(a) = 0 THEN b_lo WHEN cardinality(b) = 0 THEN a_lo
                        ELSE least(a_lo, b_lo) END::int,
                   greatest(a_lo + cardinality(a), b_lo + cardinality(b)) - 1) i
    ), r AS (
        SELECT min(i) FILTER (WHERE v <> 0) AS first, max(i) FILTER (WHERE v <> 0) AS last FROM s
    )
    SELECT coalesce(r.first, 0)::smallint,
           coalesce((SELECT array_agg(v ORDER BY i) FROM s WHERE i BETWEEN r.first AND r.last), '{}')
      FROM r
$$;

-- The sum of two breakdowns ({"part": count}), without zero parts.
CREATE FUNCTION report_parts_add(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(jsonb_object_agg(k, v), '{}')
      FROM (SELECT k, sum(v::bigint) AS v
              FROM (SELECT * FROM jsonb_each_text(a) UNION ALL SELECT * FROM jsonb_each_text(b)) e(k, v)
             GROUP BY k HAVING sum(v::bigint) <> 0) s
$$;

CREATE TABLE report_rollup_rows (
    account_id      uuid NOT NULL REFERENCES accounts (id),
    support_type_id uuid NOT NULL,
    agent_id        uuid NOT NULL,
    grain           "char" NOT NULL CHECK (grain IN ('d', 'm')),
    day             date NOT NULL,
    metric          text NOT NULL,
    n               bigint NOT NULL,
    total           bigint NOT NULL,
    lo              smallint NOT NULL DEFAULT 0 CHECK (lo BETWEEN 0 AND 300),
    counts          bigint[] NOT NULL DEFAULT '{}',
    parts           jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(parts) = 'object'),
    PRIMARY KEY (account_id, support_type_id, agent_id, grain, day, metric)
)
-- Every event updates its rows in place (no key column changes): room on
-- the page makes those updates HOT, so the old versions are pruned with
-- the page instead of piling up in both indexes until a vacuum (a rebuild
-- over 1M sessions left 7.1M dead versions beside 0.9M rows, and a report
-- visited them), and autovacuum comes sooner than its 20% default.
WITH (fillfactor = 70, autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

-- The existing sums, folded into the new rows: buckets into `counts`,
-- prefixed metrics (`reason:<id>`, `handoff:<reason>`) into `parts`.
INSERT INTO report_rollup_rows (account_id, support_type_id, agent_id, grain, day, metric, n, total, lo, counts, parts)
SELECT account_id, support_type_id, agent_id, grain, day, metric, sum(n), sum(total), 0, '{}', '{}'
  FROM report_rollups
 WHERE bucket < 0 AND metric NOT LIKE 'reason:%' AND metric NOT LIKE 'handoff:%'
 GROUP BY 1, 2, 3, 4, 5, 6
HAVING sum(n) <> 0 OR sum(total) <> 0;

INSERT INTO report_rollup_rows (account_id, support_type_id, agent_id, grain, day, metric, n, total, lo, counts, parts)
SELECT account_id, support_type_id, agent_id, grain, day, split_part(metric, ':', 1), sum(n), 0, 0, '{}',
       jsonb_object_agg(substr(metric, strpos(metric, ':') + 1), n) FILTER (WHERE n <> 0)
  FROM report_rollups
 WHERE bucket < 0 AND (metric LIKE 'reason:%' OR metric LIKE 'handoff:%')
 GROUP BY 1, 2, 3, 4, 5, 6
HAVING sum(n) <> 0;

INSERT INTO report_rollup_rows (account_id, support_type_id, agent_id, grain, day, metric, n, total, lo, counts, parts)
SELECT h.account_id, h.support_type_id, h.agent_id, h.grain, h.day, h.metric, h.n, h.total, h.lo,
       ARRAY(SELECT coalesce((h.buckets ->> i::text)::bigint, 0) FROM generate_series(h.lo::int, h.hi::int) i ORDER BY i),
       '{}'
  FROM (SELECT account_id, support_type_id, agent_id, grain, day, metric, sum(n) AS n, sum(total) AS total,
               min(bucket) FILTER (WHERE n <> 0) AS lo, max(bucket) FILTER (WHERE n <> 0) AS hi,
               jsonb_object_agg(bucket, n) AS buckets
          FROM report_rollups
         WHERE bucket >= 0
         GROUP BY 1, 2, 3, 4, 5, 6) h
 WHERE h.lo IS NOT NULL;

DROP TABLE report_rollups;
ALTER TABLE report_rollup_rows RENAME TO report_rollups;
ALTER TABLE report_rollups RENAME CONSTRAINT report_rollup_rows_pkey TO report_rollups_pkey;
-- Global admins' cross-account reports.
CREATE INDEX report_rollups_day ON report_rollups (support_type_id, agent_id, grain, day);
