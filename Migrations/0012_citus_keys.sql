-- Keys that follow Citus's rules for the tables docs/SCALING.md distributes by organization_id (section 4): every
-- primary key and unique constraint of such a table includes organization_id, and so does every foreign key between
-- two of them; no table that would stay on the coordinator or be copied to every node (users, tokens, sessions...)
-- has a foreign key into them. On one PostgreSQL nothing a user sees changes: the same rows are unique (an id is
-- unique, so (organization_id, id) is too), and lookups by id alone keep an index of their own.
--
-- Locks: each table's keys are rebuilt under ACCESS EXCLUSIVE, all in this migration's transaction. The large table,
-- emission_samples, is not touched (migration 0011 gave it its key); the largest rebuilt here are runs (one row per
-- run) and experiment_days (one per experiment, day and writer), thousands of times smaller than the samples.

-- The foreign keys that rest on keys replaced below; they come back on the new keys at the end.
ALTER TABLE projects DROP CONSTRAINT projects_organization_id_team_id_fkey;
ALTER TABLE team_members DROP CONSTRAINT team_members_organization_id_team_id_fkey;
ALTER TABLE invitations DROP CONSTRAINT invitations_team_id_fkey;
-- api_tokens stays on the coordinator: a token of a deleted project goes with it through a trigger instead.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_project_id_fkey;

ALTER TABLE teams DROP CONSTRAINT teams_pkey, DROP CONSTRAINT teams_organization_id_id_key;
ALTER TABLE teams ADD CONSTRAINT teams_pkey PRIMARY KEY (organization_id, id);
CREATE INDEX teams_id ON teams (id);

ALTER TABLE projects DROP CONSTRAINT projects_pkey, DROP CONSTRAINT projects_organization_id_id_key;
ALTER TABLE projects ADD CONSTRAINT projects_pkey PRIMARY KEY (organization_id, id);
CREATE INDEX projects_id ON projects (id);
CREATE INDEX projects_team ON projects (team_id);
DROP INDEX projects_team_id_name_key;
CREATE UNIQUE INDEX projects_team_id_name_key ON projects (organization_id, team_id, lower(name));
ALTER TABLE projects DROP CONSTRAINT projects_team_id_slug_key;
ALTER TABLE projects ADD CONSTRAINT projects_team_id_slug_key UNIQUE (organization_id, team_id, slug);

ALTER TABLE experiments DROP CONSTRAINT experiments_pkey;
ALTER TABLE experiments ADD CONSTRAINT experiments_pkey PRIMARY KEY (organization_id, id);
CREATE INDEX experiments_id ON experiments (id);
CREATE INDEX experiments_project ON experiments (project_id);
DROP INDEX experiments_project_id_name_key;
CREATE UNIQUE INDEX experiments_project_id_name_key ON experiments (organization_id, project_id, lower(name));

ALTER TABLE runs DROP CONSTRAINT runs_pkey, DROP CONSTRAINT runs_organization_id_id_key;
ALTER TABLE runs ADD CONSTRAINT runs_pkey PRIMARY KEY (organization_id, id);
CREATE INDEX runs_id ON runs (id);
DROP INDEX runs_client_key;
CREATE UNIQUE INDEX runs_client_key ON runs (organization_id, experiment_id, client_key) WHERE client_key IS NOT NULL;

ALTER TABLE experiment_days DROP CONSTRAINT experiment_days_pkey;
ALTER TABLE experiment_days ADD CONSTRAINT experiment_days_pkey PRIMARY KEY (organization_id, experiment_id, day, shard);
CREATE INDEX experiment_days_experiment ON experiment_days (experiment_id, day);

ALTER TABLE team_members DROP CONSTRAINT team_members_pkey;
ALTER TABLE team_members ADD CONSTRAINT team_members_pkey PRIMARY KEY (organization_id, team_id, user_id);
CREATE INDEX team_members_team ON team_members (team_id);

ALTER TABLE invitations DROP CONSTRAINT invitations_pkey;
ALTER TABLE invitations ADD CONSTRAINT invitations_pkey PRIMARY KEY (organization_id, id);
CREATE INDEX invitations_id ON invitations (id);

ALTER TABLE projects ADD CONSTRAINT projects_organization_id_team_id_fkey
    FOREIGN KEY (organization_id, team_id) REFERENCES teams (organization_id, id) ON DELETE CASCADE;
ALTER TABLE team_members ADD CONSTRAINT team_members_organization_id_team_id_fkey
    FOREIGN KEY (organization_id, team_id) REFERENCES teams (organization_id, id) ON DELETE CASCADE;
ALTER TABLE invitations ADD CONSTRAINT invitations_team_id_fkey
    FOREIGN KEY (organization_id, team_id) REFERENCES teams (organization_id, id) ON DELETE CASCADE;

-- Lookups that start from a secret rather than an organization (a public page's slug, an invitation's link) go
-- through small tables that name the organization (reference tables under Citus), which hold the uniqueness the
-- distributed tables cannot. Triggers keep them equal to the projects and invitations they point at.
CREATE TABLE public_links (
    slug text NOT NULL,
    organization_id uuid NOT NULL,
    project_id uuid NOT NULL,
    CONSTRAINT public_links_slug_key PRIMARY KEY (slug)
);
INSERT INTO public_links (slug, organization_id, project_id)
SELECT public_slug, organization_id, id FROM projects WHERE public_slug IS NOT NULL;
ALTER TABLE projects DROP CONSTRAINT projects_public_slug_key;

CREATE TABLE invitation_links (
    secret_hash text NOT NULL,
    organization_id uuid NOT NULL,
    invitation_id uuid NOT NULL,
    CONSTRAINT invitation_links_pkey PRIMARY KEY (secret_hash)
);
INSERT INTO invitation_links (secret_hash, organization_id, invitation_id)
SELECT secret_hash, organization_id, id FROM invitations;
ALTER TABLE invitations DROP CONSTRAINT invitations_secret_hash_key;

CREATE FUNCTION soot_public_link() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.public_slug IS NOT NULL
       AND (TG_OP = 'DELETE' OR NEW.public_slug IS DISTINCT FROM OLD.public_slug) THEN
        DELETE FROM public_links WHERE slug = OLD.public_slug;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.public_slug IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.public_slug IS DISTINCT FROM OLD.public_slug) THEN
        INSERT INTO public_links (slug, organization_id, project_id) VALUES (NEW.public_slug, NEW.organization_id, NEW.id);
    END IF;
    IF TG_OP = 'DELETE' THEN
        DELETE FROM api_tokens WHERE project_id = OLD.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER projects_links AFTER INSERT OR UPDATE OF public_slug OR DELETE ON projects
    FOR EACH ROW EXECUTE FUNCTION soot_public_link();

CREATE FUNCTION soot_invitation_link() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND (TG_OP = 'DELETE' OR NEW.secret_hash IS DISTINCT FROM OLD.secret_hash) THEN
        DELETE FROM invitation_links WHERE secret_hash = OLD.secret_hash;
    END IF;
    IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.secret_hash IS DISTINCT FROM OLD.secret_hash) THEN
        INSERT INTO invitation_links (secret_hash, organization_id, invitation_id) VALUES (NEW.secret_hash, NEW.organization_id, NEW.id);
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER invitations_links AFTER INSERT OR UPDATE OF secret_hash OR DELETE ON invitations
    FOR EACH ROW EXECUTE FUNCTION soot_invitation_link();
