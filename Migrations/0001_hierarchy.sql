-- The hierarchy: organization -> team -> project -> experiment -> run -> emission samples.
-- Every row below an organization carries organization_id, enforced by composite foreign keys, so no query
-- has to trust a client about ownership and the samples table can later be partitioned by organization.

CREATE TABLE organizations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 80),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX organizations_name_key ON organizations (name);

CREATE TABLE teams (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 80),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (organization_id, name),
    UNIQUE (organization_id, slug),
    UNIQUE (organization_id, id)
);

CREATE TABLE projects (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    team_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 80),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    is_public boolean NOT NULL DEFAULT false,
    -- The unguessable part of the read-only public link, set while is_public.
    public_slug text UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (organization_id, team_id) REFERENCES teams (organization_id, id) ON DELETE CASCADE,
    UNIQUE (team_id, name),
    UNIQUE (team_id, slug),
    UNIQUE (organization_id, id),
    UNIQUE (organization_id, team_id, id)
);
CREATE INDEX projects_organization ON projects (organization_id);

CREATE TABLE experiments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    team_id uuid NOT NULL,
    project_id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    "timestamp" timestamptz NOT NULL DEFAULT now(),
    country_name text CHECK (length(country_name) <= 200),
    country_iso_code text CHECK (length(country_iso_code) <= 3),
    region text CHECK (length(region) <= 200),
    on_cloud boolean NOT NULL DEFAULT false,
    cloud_provider text CHECK (length(cloud_provider) <= 100),
    cloud_region text CHECK (length(cloud_region) <= 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (organization_id, team_id, project_id) REFERENCES projects (organization_id, team_id, id) ON DELETE CASCADE,
    UNIQUE (project_id, name),
    UNIQUE (organization_id, team_id, project_id, id)
);

CREATE TABLE runs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL,
    team_id uuid NOT NULL,
    project_id uuid NOT NULL,
    experiment_id uuid NOT NULL,
    source text NOT NULL DEFAULT 'codecarbon' CHECK (source IN ('codecarbon', 'api', 'import', 'demo')),
    -- A client-chosen key (Idempotency, or CodeCarbon's own run_id on import) that makes retries safe.
    client_key text CHECK (length(client_key) <= 200),
    started_at timestamptz NOT NULL,
    ended_at timestamptz,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    os text CHECK (length(os) <= 500),
    python_version text CHECK (length(python_version) <= 100),
    codecarbon_version text CHECK (length(codecarbon_version) <= 100),
    cpu_count integer CHECK (cpu_count >= 0),
    cpu_model text CHECK (length(cpu_model) <= 500),
    gpu_count integer CHECK (gpu_count >= 0),
    gpu_model text CHECK (length(gpu_model) <= 1000),
    longitude double precision CHECK (longitude BETWEEN -180 AND 180),
    latitude double precision CHECK (latitude BETWEEN -90 AND 90),
    region text CHECK (length(region) <= 200),
    provider text CHECK (length(provider) <= 100),
    country_name text CHECK (length(country_name) <= 200),
    country_iso_code text CHECK (length(country_iso_code) <= 3),
    cloud_provider text CHECK (length(cloud_provider) <= 100),
    cloud_region text CHECK (length(cloud_region) <= 100),
    ram_total_size double precision CHECK (ram_total_size >= 0),
    tracking_mode text CHECK (length(tracking_mode) <= 100),
    -- Totals kept current as samples arrive (sums of the emission_samples rows).
    sample_count integer NOT NULL DEFAULT 0,
    duration_seconds double precision NOT NULL DEFAULT 0,
    emissions_kg double precision NOT NULL DEFAULT 0,
    energy_kwh double precision NOT NULL DEFAULT 0,
    cpu_energy_kwh double precision NOT NULL DEFAULT 0,
    gpu_energy_kwh double precision NOT NULL DEFAULT 0,
    ram_energy_kwh double precision NOT NULL DEFAULT 0,
    water_liters double precision NOT NULL DEFAULT 0,
    -- Latest running averages reported by the client (W).
    cpu_power_w double precision,
    gpu_power_w double precision,
    ram_power_w double precision,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (organization_id, team_id, project_id, experiment_id)
        REFERENCES experiments (organization_id, team_id, project_id, id) ON DELETE CASCADE,
    UNIQUE (organization_id, id)
);
CREATE INDEX runs_organization_started ON runs (organization_id, started_at);
CREATE INDEX runs_team_started ON runs (team_id, started_at);
CREATE INDEX runs_project_started ON runs (project_id, started_at);
CREATE INDEX runs_experiment_started ON runs (experiment_id, started_at);
CREATE UNIQUE INDEX runs_client_key ON runs (experiment_id, client_key) WHERE client_key IS NOT NULL;

CREATE TABLE emission_samples (
    -- UUIDv7 made by Soot: time-ordered, so inserts append to the index.
    id uuid PRIMARY KEY,
    organization_id uuid NOT NULL,
    run_id uuid NOT NULL,
    "timestamp" timestamptz NOT NULL,
    duration_seconds double precision NOT NULL CHECK (duration_seconds >= 0),
    emissions_kg double precision NOT NULL CHECK (emissions_kg >= 0),
    emissions_rate double precision CHECK (emissions_rate >= 0),
    cpu_power_w double precision CHECK (cpu_power_w >= 0),
    gpu_power_w double precision CHECK (gpu_power_w >= 0),
    ram_power_w double precision CHECK (ram_power_w >= 0),
    cpu_energy_kwh double precision NOT NULL DEFAULT 0 CHECK (cpu_energy_kwh >= 0),
    gpu_energy_kwh double precision NOT NULL DEFAULT 0 CHECK (gpu_energy_kwh >= 0),
    ram_energy_kwh double precision NOT NULL DEFAULT 0 CHECK (ram_energy_kwh >= 0),
    energy_kwh double precision NOT NULL CHECK (energy_kwh >= 0),
    cpu_utilization_percent double precision,
    gpu_utilization_percent double precision,
    ram_utilization_percent double precision,
    water_liters double precision NOT NULL DEFAULT 0 CHECK (water_liters >= 0),
    client_key text CHECK (length(client_key) <= 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (organization_id, run_id) REFERENCES runs (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX emission_samples_run_time ON emission_samples (run_id, "timestamp");
CREATE UNIQUE INDEX emission_samples_client_key ON emission_samples (run_id, client_key) WHERE client_key IS NOT NULL;

-- Per experiment and UTC day: what dashboards sum instead of scanning samples.
CREATE TABLE experiment_days (
    organization_id uuid NOT NULL,
    team_id uuid NOT NULL,
    project_id uuid NOT NULL,
    experiment_id uuid NOT NULL,
    day date NOT NULL,
    sample_count bigint NOT NULL DEFAULT 0,
    duration_seconds double precision NOT NULL DEFAULT 0,
    emissions_kg double precision NOT NULL DEFAULT 0,
    energy_kwh double precision NOT NULL DEFAULT 0,
    cpu_energy_kwh double precision NOT NULL DEFAULT 0,
    gpu_energy_kwh double precision NOT NULL DEFAULT 0,
    ram_energy_kwh double precision NOT NULL DEFAULT 0,
    water_liters double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (experiment_id, day),
    FOREIGN KEY (organization_id, team_id, project_id, experiment_id)
        REFERENCES experiments (organization_id, team_id, project_id, id) ON DELETE CASCADE
);
CREATE INDEX experiment_days_organization ON experiment_days (organization_id, day);
CREATE INDEX experiment_days_team ON experiment_days (team_id, day);
CREATE INDEX experiment_days_project ON experiment_days (project_id, day);
