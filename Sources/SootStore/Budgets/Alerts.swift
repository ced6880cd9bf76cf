import Foundation
import Postgres

/// A webhook of an organization, as stored (its secret is only ever shown when it is made).
package struct WebhookRecord: Sendable {
    package let id: UUID
    package let organizationID: UUID
    package let url: String
    package let events: [String]
    package let format: String
    package let createdAt: Date
    package let failingSince: Date?

    init(_ row: Row) throws {
        id = try row.decode("id")
        organizationID = try row.decode("organization_id")
        url = try row.decode("url")
        events = try row.decode("events", as: String.self).split(separator: ",").map(String.init)
        format = try row.decode("format")
        createdAt = try row.decode("created_at")
        failingSince = try row.decode("failing_since")
    }
}

/// One delivery of an event to a webhook, as the page lists them.
package struct DeliveryRecord: Sendable {
    package let id: UUID
    package let webhookID: UUID
    package let eventType: String
    package let status: String
    package let attempts: Int
    package let lastStatus: Int?
    package let lastError: String?
    package let createdAt: Date
    package let deliveredAt: Date?

    init(_ row: Row) throws {
        id = try row.decode("id")
        webhookID = try row.decode("webhook_id")
        eventType = try row.decode("event_type")
        status = try row.decode("status")
        attempts = try row.decode("attempts")
        lastStatus = try row.decode("last_status")
        lastError = try row.decode("last_error")
        createdAt = try row.decode("created_at")
        deliveredAt = try row.decode("delivered_at")
    }
}

/// A delivery claimed by a sender, with what it needs to send it.
package struct ClaimedDelivery: Sendable {
    package let organizationID: UUID
    package let id: UUID
    package let webhookID: UUID
    package let eventType: String
    /// The event, as JSON text.
    package let payload: String
    package let attempts: Int
    package let createdAt: Date
    package let url: String
    package let secret: String
    package let format: String
}

/// Budget alerts: events raised from the budgets' figures, and their deliveries to webhooks (an outbox).
package enum Alerts {
    package static let eventTypes = ["budget.threshold", "budget.forecast"]
    package static let formats = ["json", "slack", "teams"]

    /// Raises what the budgets' current figures make true: each threshold crossed in the period (once), and the
    /// forecast over the limit (once a day), each with one delivery per webhook of the organization that wants it,
    /// in the same statement. Safe to run from every instance at once: the events' unique index decides who raises.
    /// `link`: the address of a scope's page from its path (`/o/acme/ml`). Returns how many events it raised.
    @discardableResult
    package static func check(_ database: ConnectionPool, now: Date = Date(), link: (String) -> String = { $0 }) throws -> Int {
        let rows = try database.query("""
            SELECT \(unsafeSQL: Store.budgetColumns), o.slug AS organization_slug, t.slug AS team_slug, p.slug AS project_slug,
                   o.name AS organization_name
            FROM budgets b \(unsafeSQL: Store.budgetJoins)
            """).rows
        var raised = 0
        for row in rows {
            let budget = try Store.budgetRecord(database, row, now: now)
            let path = "/o/" + [try row.decode("organization_slug", as: String?.self), try row.decode("team_slug", as: String?.self),
                                try row.decode("project_slug", as: String?.self)].compactMap { $0 }.joined(separator: "/")
            var events: [(type: String, threshold: Int?, day: Int?)] = budget.thresholds
                .filter { budget.emissions.used >= Double($0) / 100 * budget.limitKg }
                .map { ("budget.threshold", $0, nil) }
            if budget.emissions.used < budget.limitKg && budget.emissions.forecast > budget.limitKg {
                events.append(("budget.forecast", nil, Int((now.timeIntervalSince1970 / 86_400).rounded(.down))))
            }
            for event in events {
                raised += try database.query("""
                    WITH event AS (
                        INSERT INTO budget_events (organization_id, budget_id, type, period_start, threshold, day, payload)
                        SELECT \(budget.organizationID)::uuid, \(budget.id)::uuid, \(event.type)::text, date '1970-01-01' + \(budget.period.start)::int,
                               \(event.threshold)::int, date '1970-01-01' + \(event.day)::int,
                               jsonb_build_object(
                                   'id', \(UUID().lowercaseText)::text, 'type', \(event.type)::text,
                                   'time', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                   'organization', jsonb_build_object('id', \(budget.organizationID)::uuid,
                                                                      'name', \(try row.decode("organization_name", as: String.self))::text),
                                   'scope', jsonb_build_object('level', \(budget.scopeLevel.rawValue)::text, 'id', \(budget.scopeID)::uuid,
                                                               'name', \(budget.scopeName)::text),
                                   'budget', jsonb_build_object('id', \(budget.id)::uuid, 'period', \(budget.period.kind.rawValue)::text,
                                                                'limit_kg', \(budget.limitKg)::float8),
                                   'period', jsonb_build_object('start', \(BudgetPeriod.text(budget.period.start))::text,
                                                                'end', \(BudgetPeriod.text(budget.period.end - 1))::text),
                                   'threshold', \(event.threshold)::int, 'used_kg', \(budget.emissions.used)::float8,
                                   'limit_kg', \(budget.limitKg)::float8, 'forecast_kg', \(budget.emissions.forecast)::float8,
                                   'forecast_range_kg', jsonb_build_array(\(budget.emissions.low)::float8, \(budget.emissions.high)::float8),
                                   'link', \(link(path))::text)
                        ON CONFLICT DO NOTHING
                        RETURNING organization_id, id, type, payload
                    ),
                    deliveries AS (
                        INSERT INTO webhook_deliveries (organization_id, webhook_id, event_id, event_type, payload)
                        SELECT w.organization_id, w.id, e.id, e.type, e.payload || jsonb_build_object('id', e.id)
                        FROM event e JOIN webhooks w ON w.organization_id = e.organization_id AND e.type = ANY (w.events)
                    )
                    SELECT count(*) AS n FROM event
                    """).first!.decode("n", as: Int.self)
            }
        }
        return raised
    }

    /// Claims up to `limit` due deliveries for `lease` seconds (another sender skips them meanwhile and takes them
    /// again only if this one never reports back), counting the attempt.
    package static func claim(_ database: ConnectionPool, limit: Int = 10, lease: Double = 60) throws -> [ClaimedDelivery] {
        try database.query("""
            UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = now() + make_interval(secs => \(lease))
            FROM webhooks w
            WHERE (d.organization_id, d.id) IN (
                    SELECT organization_id, id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= now()
                    ORDER BY next_attempt_at LIMIT \(limit) FOR UPDATE SKIP LOCKED)
              AND w.organization_id = d.organization_id AND w.id = d.webhook_id
            RETURNING d.organization_id, d.id, d.webhook_id, d.event_type, d.payload::text AS payload, d.attempts, d.created_at,
                      w.url, w.secret, w.format
            """).rows.map { row in
            ClaimedDelivery(organizationID: try row.decode("organization_id"), id: try row.decode("id"), webhookID: try row.decode("webhook_id"),
                            eventType: try row.decode("event_type"), payload: try row.decode("payload"), attempts: try row.decode("attempts"),
                            createdAt: try row.decode("created_at"), url: try row.decode("url"), secret: try row.decode("secret"),
                            format: try row.decode("format"))
        }
    }

    /// Records an attempt: delivered on a 2xx; otherwise tried again after `retryAfter(attempts)` seconds, or
    /// failed once the delivery is older than `giveUpAfter` seconds, which marks its webhook failing.
    package static func complete(_ database: ConnectionPool, _ delivery: ClaimedDelivery, status: Int?, error: String?,
                                 retryAfter: Double, giveUpAfter: Double) throws {
        try database.transaction { connection in
            if let status, (200...299).contains(status) {
                try connection.query("""
                    UPDATE webhook_deliveries SET status = 'delivered', delivered_at = now(), last_status = \(status), last_error = NULL
                    WHERE organization_id = \(delivery.organizationID) AND id = \(delivery.id)
                    """)
                try connection.query("""
                    UPDATE webhooks SET failing_since = NULL WHERE organization_id = \(delivery.organizationID) AND id = \(delivery.webhookID)
                      AND failing_since IS NOT NULL
                    """)
                return
            }
            let gaveUp = try connection.query("""
                UPDATE webhook_deliveries SET last_status = \(status), last_error = \(error.map { String($0.prefix(500)) }),
                       status = CASE WHEN created_at < now() - make_interval(secs => \(giveUpAfter)) THEN 'failed' ELSE 'pending' END,
                       next_attempt_at = now() + make_interval(secs => \(retryAfter))
                WHERE organization_id = \(delivery.organizationID) AND id = \(delivery.id)
                RETURNING status = 'failed' AS failed
                """).first?.decode("failed", as: Bool.self) ?? false
            if gaveUp {
                try connection.query("""
                    UPDATE webhooks SET failing_since = coalesce(failing_since, now())
                    WHERE organization_id = \(delivery.organizationID) AND id = \(delivery.webhookID)
                    """)
            }
        }
    }

    /// Seconds before the next try after `attempts` failed ones: 10, 20, 40 ... at most an hour (times `base` / 10).
    package static func backoff(attempts: Int, base: Double = 10) -> Double {
        min(3600, base * pow(2, Double(max(0, attempts - 1))))
    }
}

extension Store {
    static let webhookColumns = "w.id, w.organization_id, w.url, array_to_string(w.events, ',') AS events, w.format, w.created_at, w.failing_since"

    /// Owners and admins manage an organization's webhooks; others get 403 (404 outside it).
    func requireWebhookAdmin(_ caller: Caller, organizationID: UUID) throws {
        guard let user = caller.userID, let role = try database.query("""
            SELECT role FROM organization_members WHERE organization_id = \(organizationID) AND user_id = \(user)
            """).first?.decode("role", as: String.self) else { throw AppError.notFound("No such organization.") }
        guard role == "owner" || role == "admin" else { throw AppError.forbidden("Only an owner or admin can manage webhooks.") }
    }

    /// A new webhook; returns it with its signing secret (the one given, or one made now and shown only now).
    package func createWebhook(_ caller: Caller, organizationID: UUID, url: String, secret given: String?, events: [String],
                               format: String) throws -> (WebhookRecord, String) {
        try caller.requireWrite()
        try requireWebhookAdmin(caller, organizationID: organizationID)
        let secret = given ?? "whsec_" + Crypto.randomToken()
        let webhook = try database.transaction { connection -> WebhookRecord in
            let row = try connection.query("""
                WITH w AS (INSERT INTO webhooks (organization_id, url, secret, events, format, created_by)
                           VALUES (\(organizationID), \(url), \(secret), \(events)::text[], \(format), \(caller.userID)) RETURNING *)
                SELECT \(unsafeSQL: Store.webhookColumns) FROM w
                """).first!
            let webhook = try WebhookRecord(row)
            try Audit.record(connection, AuditActor(caller), .webhookCreate, organization: organizationID,
                             object: AuditObject("webhook", webhook.id, url), new: [("url", url), ("events", events.joined(separator: ",")), ("format", format)])
            return webhook
        }
        return (webhook, secret)
    }

    package func webhooks(_ caller: Caller, organizationID: UUID) throws -> [WebhookRecord] {
        try requireWebhookAdmin(caller, organizationID: organizationID)
        return try database.query("""
            SELECT \(unsafeSQL: Store.webhookColumns) FROM webhooks w WHERE w.organization_id = \(organizationID) ORDER BY w.created_at, w.id
            """).rows.map(WebhookRecord.init)
    }

    package func deleteWebhook(_ caller: Caller, organizationID: UUID, id: UUID) throws {
        try caller.requireWrite()
        try requireWebhookAdmin(caller, organizationID: organizationID)
        try database.transaction { connection in
            guard let url = try connection.query("""
                DELETE FROM webhooks WHERE organization_id = \(organizationID) AND id = \(id) RETURNING url
                """).first?.decode("url", as: String.self) else { throw AppError.notFound("No such webhook.") }
            try Audit.record(connection, AuditActor(caller), .webhookDelete, organization: organizationID, object: AuditObject("webhook", id, url))
        }
    }

    /// Queues a test event for one webhook (delivered like the others, within a second or so).
    package func testWebhook(_ caller: Caller, organizationID: UUID, id: UUID, link: String) throws -> UUID {
        try caller.requireWrite()
        try requireWebhookAdmin(caller, organizationID: organizationID)
        guard let row = try database.query("""
            INSERT INTO webhook_deliveries (organization_id, webhook_id, event_type, payload)
            SELECT w.organization_id, w.id, 'test', jsonb_build_object(
                'id', gen_random_uuid(), 'type', 'test', 'time', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                'organization', jsonb_build_object('id', o.id, 'name', o.name), 'link', \(link)::text,
                'message', 'A test from Soot: this webhook receives budget alerts.')
            FROM webhooks w JOIN organizations o ON o.id = w.organization_id
            WHERE w.organization_id = \(organizationID) AND w.id = \(id)
            RETURNING id
            """).first else { throw AppError.notFound("No such webhook.") }
        return try row.decode("id")
    }

    /// The last deliveries of an organization's webhooks, newest first.
    package func deliveries(_ caller: Caller, organizationID: UUID, webhookID: UUID? = nil, limit: Int = 20) throws -> [DeliveryRecord] {
        try requireWebhookAdmin(caller, organizationID: organizationID)
        return try database.query("""
            SELECT id, webhook_id, event_type, status, attempts, last_status, last_error, created_at, delivered_at
            FROM webhook_deliveries WHERE organization_id = \(organizationID) AND (\(webhookID)::uuid IS NULL OR webhook_id = \(webhookID))
            ORDER BY created_at DESC, id LIMIT \(limit)
            """).rows.map(DeliveryRecord.init)
    }
}

extension Store {
    /// This store on `connections` connections of its own to the same database: background work (budget checks,
    /// webhook deliveries) neither takes connections from requests nor waits behind them. `closeConnections` ends them.
    package func withOwnConnections(_ connections: Int) -> Store {
        var store = self
        store.database = ConnectionPool(url: database.url, configuration: .init(maximumConnections: connections, acquireTimeout: 10))
        store.replica = nil
        return store
    }

    package func closeConnections() { database.close() }

    /// How many webhooks are failing now, over all organizations (for the metrics).
    package func failingWebhooks() throws -> Int {
        try database.query("SELECT count(*) AS n FROM webhooks WHERE failing_since IS NOT NULL").first!.decode("n", as: Int.self)
    }
}
