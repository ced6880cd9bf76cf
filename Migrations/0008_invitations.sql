-- Invitations: nobody becomes a member of an organization without saying yes.
--
-- Why: adding a member by email used to create the account (handing its one-time password to whoever added it) or
-- reuse an existing one silently. Users are global by email, so organization B's owner could add
-- newhire@a.example, keep the password, and read A's runs once A's owner added the same email later. Now adding an
-- email makes a pending invitation to the organization (and optionally a team); its link carries a secret that
-- only the inviter sees, once; the person accepts while signed in as that email, or sets their own password to
-- create the account. Only the secret's SHA-256 is kept.

CREATE TABLE invitations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    team_id uuid REFERENCES teams (id) ON DELETE CASCADE,
    email text NOT NULL CHECK (length(email) BETWEEN 3 AND 320 AND position('@' in email) > 1),
    role text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    secret_hash text NOT NULL UNIQUE,
    invited_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by uuid REFERENCES users (id) ON DELETE SET NULL,
    revoked_at timestamptz
);
CREATE INDEX invitations_pending ON invitations (organization_id, created_at)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
