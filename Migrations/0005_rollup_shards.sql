-- Each ingest writer keeps its own slice of an experiment's daily rollup, so writers committing samples of the same
-- experiment at the same time never wait on each other's row lock (a run's samples always go to the same writer,
-- so the runs rows are disjoint too). Readers sum over the slices, as they already sum over days.
ALTER TABLE experiment_days ADD COLUMN shard smallint NOT NULL DEFAULT 0 CHECK (shard >= 0);
ALTER TABLE experiment_days DROP CONSTRAINT experiment_days_pkey;
ALTER TABLE experiment_days ADD PRIMARY KEY (experiment_id, day, shard);
