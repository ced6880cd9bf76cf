-- Names that differ only in case are the same name. "Research" and "research" could be two teams of one
-- organization (the second got the slug research-2, and a report "by names" went to whichever matched the case).
-- From now on the uniqueness rules compare names without case, and lookups by name do too.
--
-- Existing names that collide without case are kept apart first: every one but the oldest gets " (2)", " (3)", ...
-- The rules keep their names (`*_name_key`): a collision is still reported as a 409 on the field `name`.

UPDATE organizations o SET name = o.name || ' (' || d.n || ')'
FROM (SELECT id, row_number() OVER (PARTITION BY lower(name) ORDER BY created_at, id) AS n FROM organizations) d
WHERE d.id = o.id AND d.n > 1;
DROP INDEX organizations_name_key;
CREATE UNIQUE INDEX organizations_name_key ON organizations (lower(name));

UPDATE teams t SET name = t.name || ' (' || d.n || ')'
FROM (SELECT id, row_number() OVER (PARTITION BY organization_id, lower(name) ORDER BY created_at, id) AS n FROM teams) d
WHERE d.id = t.id AND d.n > 1;
ALTER TABLE teams DROP CONSTRAINT teams_organization_id_name_key;
CREATE UNIQUE INDEX teams_organization_id_name_key ON teams (organization_id, lower(name));

UPDATE projects p SET name = p.name || ' (' || d.n || ')'
FROM (SELECT id, row_number() OVER (PARTITION BY team_id, lower(name) ORDER BY created_at, id) AS n FROM projects) d
WHERE d.id = p.id AND d.n > 1;
ALTER TABLE projects DROP CONSTRAINT projects_team_id_name_key;
CREATE UNIQUE INDEX projects_team_id_name_key ON projects (team_id, lower(name));

UPDATE experiments e SET name = e.name || ' (' || d.n || ')'
FROM (SELECT id, row_number() OVER (PARTITION BY project_id, lower(name) ORDER BY created_at, id) AS n FROM experiments) d
WHERE d.id = e.id AND d.n > 1;
ALTER TABLE experiments DROP CONSTRAINT experiments_project_id_name_key;
CREATE UNIQUE INDEX experiments_project_id_name_key ON experiments (project_id, lower(name));
