-- The audit trail: one row per management action, written in the same transaction as the change, so an action
-- that fails leaves none. Rows outlive what they describe (no foreign keys): an organization's entries stay after
-- it is deleted, for the operator (`soot audit --organization ID`), until the retention removes them.
--
-- organization_id is NULL for what concerns an account rather than an organization: sign-ins, failed sign-ins,
-- password changes and resets, personal tokens. Those are shown to the person on their account page.

CREATE TABLE audit_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    organization_id uuid,
    -- Who: a person through a session, a personal or project token (never its secret: its id and name), the
    -- operator at the command line, or nobody signed in (a failed sign-in).
    actor_kind text NOT NULL CHECK (actor_kind IN ('user', 'personal_token', 'project_token', 'operator', 'anonymous')),
    actor_user_id uuid,
    actor_token_id uuid,
    actor_name text NOT NULL DEFAULT '',
    -- What: `team.create`, `member.role`, `sign_in.failed`, ...; on which object (its kind, id and name then).
    action text NOT NULL CHECK (action ~ '^[a-z_]+(\.[a-z_]+)*$'),
    object_kind text NOT NULL,
    object_id uuid,
    object_name text NOT NULL DEFAULT '',
    -- From where: the client's address (through trusted proxies) and the request's X-Request-Id.
    address text,
    request_id text,
    -- The fields that changed, before and after (text values), where there are some.
    old_value jsonb,
    new_value jsonb
);

CREATE INDEX audit_events_organization_at ON audit_events (organization_id, at DESC, id DESC);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor_user ON audit_events (actor_user_id, at DESC) WHERE actor_user_id IS NOT NULL;
CREATE INDEX audit_events_object ON audit_events (object_id) WHERE object_id IS NOT NULL;
