-- Samples partitioned by month of their "timestamp" (UTC), so that old months can be folded by retention without
-- DELETE and vacuum, and a month's files go away at once. See docs/SCALING.md, section 3.
--
-- On a populated table this migration takes an EXCLUSIVE lock on the samples (pages, reports and exports keep
-- reading them; ingest waits) for as long as the copy takes; Benchmarks/RESULTS.md has the time per million
-- samples. Rows are copied without indexes, which are built once at the end.

-- 1. A sample's client key (an import's row key, a sample `id` posted through the API) lives in its own table.
--    PostgreSQL requires every unique index of a partitioned table to include the partition key, and a key must
--    stay unique for its run whatever the timestamp sent with it; it also outlives retention's folding, so a file
--    imported again after its months were folded is still recognised.
CREATE TABLE sample_keys (
    organization_id uuid NOT NULL,
    run_id uuid NOT NULL,
    client_key soot_text_200 NOT NULL,
    sample_id uuid NOT NULL,
    PRIMARY KEY (organization_id, run_id, client_key)
);
CREATE INDEX sample_keys_run ON sample_keys (run_id);

LOCK TABLE emission_samples IN EXCLUSIVE MODE;

INSERT INTO sample_keys (organization_id, run_id, client_key, sample_id)
SELECT organization_id, run_id, client_key, id FROM emission_samples WHERE client_key IS NOT NULL;

ALTER TABLE emission_samples RENAME TO emission_samples_unpartitioned;

-- 2. The partitioned table: the same columns, and how many samples a row stands for (1, or more once folded).
--    Its primary key includes the partition key and organization_id (the distribution column Citus would need).
CREATE TABLE emission_samples (LIKE emission_samples_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
    PARTITION BY RANGE ("timestamp");
ALTER TABLE emission_samples ADD COLUMN sample_count soot_count NOT NULL DEFAULT 1;  -- a domain, as migration 0007 explains

-- The month partition holding `at`, created if missing: a plain table made like the parent, then attached, which
-- takes a SHARE UPDATE EXCLUSIVE lock on the parent (reads and inserts go on; CREATE TABLE ... PARTITION OF would
-- take ACCESS EXCLUSIVE). Returns whether it existed already. Concurrent callers wait for each other on that lock.
CREATE FUNCTION soot_sample_partition(at timestamptz) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    month_start timestamp := date_trunc('month', at AT TIME ZONE 'UTC');
    name text := 'emission_samples_' || to_char(month_start, '"y"YYYY"m"MM');
    lower_bound text := to_char(month_start, 'YYYY-MM-DD') || ' 00:00:00+00';
    upper_bound text := to_char(month_start + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00';
BEGIN
    IF to_regclass(name) IS NOT NULL THEN
        RETURN true;
    END IF;
    LOCK TABLE emission_samples IN SHARE UPDATE EXCLUSIVE MODE;
    IF to_regclass(name) IS NOT NULL THEN
        RETURN true;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE emission_samples INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', name);
    -- The range as a constraint first, so that attaching does not scan the table to prove it.
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK ("timestamp" IS NOT NULL AND "timestamp" >= %L AND "timestamp" < %L)',
                   name, name || '_range', lower_bound, upper_bound);
    EXECUTE format('ALTER TABLE emission_samples ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   name, lower_bound, upper_bound);
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', name, name || '_range');
    RETURN false;
END
$$;

SELECT soot_sample_partition(month)
FROM (SELECT DISTINCT date_trunc('month', "timestamp" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month
      FROM emission_samples_unpartitioned) m;
SELECT soot_sample_partition(now());

INSERT INTO emission_samples SELECT *, 1 FROM emission_samples_unpartitioned;
DROP TABLE emission_samples_unpartitioned;

ALTER TABLE emission_samples ADD PRIMARY KEY (organization_id, id, "timestamp");
CREATE INDEX emission_samples_run_time ON emission_samples (run_id, "timestamp");

-- 3. Deleting runs deletes their keys too (their samples already go in the same trigger).
CREATE OR REPLACE FUNCTION soot_delete_samples_of_deleted_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM emission_samples s USING deleted_runs d WHERE s.run_id = d.id;
    DELETE FROM sample_keys k USING deleted_runs d WHERE k.run_id = d.id;
    RETURN NULL;
END
$$;

-- 4. Months folded by retention (--sample-retention): when, and how many rows before and after.
CREATE TABLE sample_folds (
    month date PRIMARY KEY,
    folded_at timestamptz NOT NULL,
    rows_before bigint NOT NULL,
    rows_after bigint NOT NULL
);
