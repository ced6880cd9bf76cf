-- Samples keep their run without a foreign key. PostgreSQL checks a foreign key row by row, each check a query of its
-- own through a trigger, and at ingest rates that was a quarter of the database's time. The one statement that writes
-- samples (SampleWriter) now does the same work once per run of a batch instead of once per sample: it locks the run
-- rows first (so a run cannot be deleted until the samples are committed), writes samples only for runs it locked and
-- takes their organization from the run, and fails the whole statement with foreign_key_violation, as the constraint
-- did, when a run is gone. Deleting runs, directly or by cascade from above, deletes their samples in this trigger.
ALTER TABLE emission_samples DROP CONSTRAINT emission_samples_organization_id_run_id_fkey;

CREATE FUNCTION soot_delete_samples_of_deleted_runs() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM emission_samples s USING deleted_runs d WHERE s.run_id = d.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER runs_delete_samples AFTER DELETE ON runs REFERENCING OLD TABLE AS deleted_runs
    FOR EACH STATEMENT EXECUTE FUNCTION soot_delete_samples_of_deleted_runs();

-- Raised by SampleWriter for a sample whose run does not exist (any more).
CREATE FUNCTION soot_run_missing(run uuid) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'run % does not exist', run USING ERRCODE = 'foreign_key_violation';
END
$$;
