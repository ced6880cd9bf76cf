-- Carbon budgets (issue 20): a limit in kg CO2e (and optionally kWh) for an organization, a team or a project over
-- a calendar month, quarter or year (UTC), with the percentages at which alerts fire. One budget per scope and
-- period kind. Keyed by organization like the rest of the hierarchy (docs/SCALING.md, section 4).
CREATE TABLE budgets (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    -- The scope: the organization itself when both are null, else the team, or the project (and its team).
    team_id uuid,
    project_id uuid,
    period text NOT NULL CHECK (period IN ('month', 'quarter', 'year')),
    limit_kg double precision NOT NULL CHECK (limit_kg >= 1e-9 AND limit_kg <= 1e12),
    limit_kwh double precision CHECK (limit_kwh >= 1e-9 AND limit_kwh <= 1e12),
    thresholds integer[] NOT NULL DEFAULT '{50,80,100}'
        CHECK (cardinality(thresholds) BETWEEN 1 AND 10 AND 1 <= ALL (thresholds) AND 1000 >= ALL (thresholds)),
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, team_id) REFERENCES teams (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, project_id) REFERENCES projects (organization_id, id) ON DELETE CASCADE,
    CHECK (project_id IS NULL OR team_id IS NOT NULL)
);
CREATE INDEX budgets_id ON budgets (id);
-- One budget per scope and period kind.
CREATE UNIQUE INDEX budgets_scope_period_key ON budgets
    (organization_id, coalesce(project_id, team_id, organization_id), period);
