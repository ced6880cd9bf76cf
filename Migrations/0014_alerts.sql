-- Alerts (issue 20): webhooks per organization, the events budgets raise, and one delivery per event and webhook,
-- written in the same transaction as the event (an outbox): a sender delivers them at least once, with retries.

CREATE TABLE webhooks (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    url text NOT NULL CHECK (length(url) <= 2000),
    -- The HMAC key of the json format's Soot-Signature (shown once, as tokens are; kept to sign).
    secret text NOT NULL CHECK (length(secret) <= 200),
    events text[] NOT NULL DEFAULT '{budget.threshold,budget.forecast}',
    format text NOT NULL DEFAULT 'json' CHECK (format IN ('json', 'slack', 'teams')),
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Set when a delivery gave up after its day of retries; cleared by the next success.
    failing_since timestamptz,
    PRIMARY KEY (organization_id, id)
);
CREATE INDEX webhooks_id ON webhooks (id);

-- What happened, once: a threshold of a budget crossed in a period, or its forecast over the limit on a day.
CREATE TABLE budget_events (
    organization_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    budget_id uuid NOT NULL,
    type text NOT NULL CHECK (type IN ('budget.threshold', 'budget.forecast', 'test')),
    period_start date NOT NULL,
    threshold integer,
    day date,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, budget_id) REFERENCES budgets (organization_id, id) ON DELETE CASCADE
);
-- Once per threshold per period; a forecast once per day.
CREATE UNIQUE INDEX budget_events_once ON budget_events
    (organization_id, budget_id, type, period_start, coalesce(threshold, 0), coalesce(day, date '2000-01-01'))
    WHERE type <> 'test';

CREATE TABLE webhook_deliveries (
    organization_id uuid NOT NULL,
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    webhook_id uuid NOT NULL,
    -- The event: a budget's, or a test sent from the page (no budget).
    event_id uuid,
    event_type text NOT NULL,
    payload jsonb NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_status integer,
    last_error text,
    delivered_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, webhook_id) REFERENCES webhooks (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at);
