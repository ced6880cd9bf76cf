-- The first and last sample time of each run, kept by the sample writer. Reports for a date range use them to tell
-- runs that lie wholly inside the range (their totals are exact) from runs that cross its edges (their samples
-- inside the range are summed), so a report's rows add up to the dashboard's daily rollups.
ALTER TABLE runs ADD COLUMN first_sample_at timestamptz, ADD COLUMN last_sample_at timestamptz;

UPDATE runs r SET first_sample_at = s.first, last_sample_at = s.last
FROM (SELECT run_id, min("timestamp") AS first, max("timestamp") AS last FROM emission_samples GROUP BY run_id) s
WHERE s.run_id = r.id;
