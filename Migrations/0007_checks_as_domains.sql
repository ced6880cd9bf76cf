-- The value rules of runs and samples become domains instead of table CHECK constraints; the rules are the same.
--
-- Why: in every statement that writes a table, PostgreSQL reads each of the table's CHECK constraints back from its
-- stored text, plans it and checks it, and an UPDATE checks all of them, also those on columns it does not set. The
-- sample writer's one statement per batch updates the totals of each run in the batch and inserts the samples, so it
-- paid for 31 constraints (19 on runs, all on metadata it never sets; 12 on samples): about a tenth of PostgreSQL's
-- time at ingest rates (perf, ExecConstraints). A domain's rule is read once per connection (the type cache) and is
-- checked only where a value is assigned to the domain, so the run update pays nothing for the metadata rules.
--
-- How: the columns first change type to domains without rules (same storage: no table rewrite), the old constraints
-- are dropped, then each domain gets its rule, which PostgreSQL checks against every existing value (a scan).

CREATE DOMAIN soot_nonnegative AS double precision;
CREATE DOMAIN soot_count AS integer;
CREATE DOMAIN soot_longitude AS double precision;
CREATE DOMAIN soot_latitude AS double precision;
CREATE DOMAIN soot_text_3 AS text;
CREATE DOMAIN soot_text_100 AS text;
CREATE DOMAIN soot_text_200 AS text;
CREATE DOMAIN soot_text_500 AS text;
CREATE DOMAIN soot_text_1000 AS text;
CREATE DOMAIN soot_run_source AS text;

ALTER TABLE runs
    DROP CONSTRAINT runs_source_check, ALTER COLUMN source TYPE soot_run_source,
    DROP CONSTRAINT runs_client_key_check, ALTER COLUMN client_key TYPE soot_text_200,
    DROP CONSTRAINT runs_os_check, ALTER COLUMN os TYPE soot_text_500,
    DROP CONSTRAINT runs_python_version_check, ALTER COLUMN python_version TYPE soot_text_100,
    DROP CONSTRAINT runs_codecarbon_version_check, ALTER COLUMN codecarbon_version TYPE soot_text_100,
    DROP CONSTRAINT runs_cpu_count_check, ALTER COLUMN cpu_count TYPE soot_count,
    DROP CONSTRAINT runs_cpu_model_check, ALTER COLUMN cpu_model TYPE soot_text_500,
    DROP CONSTRAINT runs_gpu_count_check, ALTER COLUMN gpu_count TYPE soot_count,
    DROP CONSTRAINT runs_gpu_model_check, ALTER COLUMN gpu_model TYPE soot_text_1000,
    DROP CONSTRAINT runs_longitude_check, ALTER COLUMN longitude TYPE soot_longitude,
    DROP CONSTRAINT runs_latitude_check, ALTER COLUMN latitude TYPE soot_latitude,
    DROP CONSTRAINT runs_region_check, ALTER COLUMN region TYPE soot_text_200,
    DROP CONSTRAINT runs_provider_check, ALTER COLUMN provider TYPE soot_text_100,
    DROP CONSTRAINT runs_country_name_check, ALTER COLUMN country_name TYPE soot_text_200,
    DROP CONSTRAINT runs_country_iso_code_check, ALTER COLUMN country_iso_code TYPE soot_text_3,
    DROP CONSTRAINT runs_cloud_provider_check, ALTER COLUMN cloud_provider TYPE soot_text_100,
    DROP CONSTRAINT runs_cloud_region_check, ALTER COLUMN cloud_region TYPE soot_text_100,
    DROP CONSTRAINT runs_ram_total_size_check, ALTER COLUMN ram_total_size TYPE soot_nonnegative,
    DROP CONSTRAINT runs_tracking_mode_check, ALTER COLUMN tracking_mode TYPE soot_text_100;

ALTER TABLE emission_samples
    DROP CONSTRAINT emission_samples_client_key_check, ALTER COLUMN client_key TYPE soot_text_200,
    DROP CONSTRAINT emission_samples_duration_seconds_check, ALTER COLUMN duration_seconds TYPE soot_nonnegative,
    DROP CONSTRAINT emission_samples_emissions_kg_check, ALTER COLUMN emissions_kg TYPE soot_nonnegative,
    DROP CONSTRAINT emission_samples_emissions_rate_check, ALTER COLUMN emissions_rate TYPE soot_nonnegative,
    DROP CONSTRAINT emission_samples_cpu_power_w_check, ALTER COLUMN cpu_power_w TYPE soot_nonnegative,
    DROP CONSTRAINT emission_samples_gpu_power_w_check, ALTER COLUMN gpu_power_w TYPE soot_nonnegative,
    DROP CONSTRAINT emission_samples_ram_power_w_check, ALTER COLUMN ram_power_w TYPE soot_nonnegative,
    DROP CONSTRAINT emission_samples_cpu_energy_kwh_check, ALTER COLUMN cpu_energy_kwh TYPE soot_nonnegative,
    DROP CONSTRAINT emission_samples_gpu_energy_kwh_check, ALTER COLUMN gpu_energy_kwh TYPE soot_nonnegative,
    DROP CONSTRAINT emission_samples_ram_energy_kwh_check, ALTER COLUMN ram_energy_kwh TYPE soot_nonnegative,
    DROP CONSTRAINT emission_samples_energy_kwh_check, ALTER COLUMN energy_kwh TYPE soot_nonnegative,
    DROP CONSTRAINT emission_samples_water_liters_check, ALTER COLUMN water_liters TYPE soot_nonnegative;

ALTER DOMAIN soot_nonnegative ADD CONSTRAINT soot_nonnegative_check CHECK (VALUE >= 0);
ALTER DOMAIN soot_count ADD CONSTRAINT soot_count_check CHECK (VALUE >= 0);
ALTER DOMAIN soot_longitude ADD CONSTRAINT soot_longitude_check CHECK (VALUE BETWEEN -180 AND 180);
ALTER DOMAIN soot_latitude ADD CONSTRAINT soot_latitude_check CHECK (VALUE BETWEEN -90 AND 90);
ALTER DOMAIN soot_text_3 ADD CONSTRAINT soot_text_3_check CHECK (length(VALUE) <= 3);
ALTER DOMAIN soot_text_100 ADD CONSTRAINT soot_text_100_check CHECK (length(VALUE) <= 100);
ALTER DOMAIN soot_text_200 ADD CONSTRAINT soot_text_200_check CHECK (length(VALUE) <= 200);
ALTER DOMAIN soot_text_500 ADD CONSTRAINT soot_text_500_check CHECK (length(VALUE) <= 500);
ALTER DOMAIN soot_text_1000 ADD CONSTRAINT soot_text_1000_check CHECK (length(VALUE) <= 1000);
ALTER DOMAIN soot_run_source ADD CONSTRAINT soot_run_source_check CHECK (VALUE IN ('codecarbon', 'api', 'import', 'demo'));
