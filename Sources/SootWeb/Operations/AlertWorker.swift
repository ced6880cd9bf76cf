import Dispatch
import Emissions
import Foundation
import HTTPClient
import Logging
import SootStore
import Synchronization

/// Checks every budget against the committed rollups every `checkInterval` (coalesced: whatever the ingest rate,
/// one pass over the budgets per interval), and sends due webhook deliveries every `sendInterval`, each on a
/// background queue of its own. Any number of instances may run it: the events' unique index raises each event
/// once, and a delivery is leased to one sender at a time.
final class AlertWorker: Sendable {
    let store: Store
    let configuration: AlertConfiguration
    let logger: Logger
    let metrics: SootMetrics?
    private let stopped = Atomic<Bool>(false)
    private let checkQueue = DispatchQueue(label: "soot.alerts.check", qos: .utility)
    private let sendQueue = DispatchQueue(label: "soot.alerts.send", qos: .utility)

    /// `store`: the application's; the worker reads and writes through two connections of its own (one per queue).
    init(store: Store, configuration: AlertConfiguration, logger: Logger, metrics: SootMetrics?) {
        self.store = store.withOwnConnections(2)
        (self.configuration, self.logger, self.metrics) = (configuration, logger, metrics)
    }

    func start() {
        scheduleCheck(after: min(1, configuration.checkInterval))
        scheduleSend(after: configuration.sendInterval)
    }

    func stop() {
        stopped.store(true, ordering: .relaxed)
        // Wait for a pass in progress, then close the connections.
        checkQueue.sync {}
        sendQueue.sync {}
        store.closeConnections()
    }

    /// One pass over the budgets; returns how many events it raised.
    @discardableResult
    func check() throws -> Int {
        let raised = try Alerts.check(store.database, link: { (self.configuration.publicURL ?? "") + $0 })
        if raised > 0 { logger.info("budget alerts raised", metadata: ["events": "\(raised)"]) }
        return raised
    }

    /// Sends what is due now; returns how many deliveries it attempted.
    @discardableResult
    func sendDue() throws -> Int {
        var attempted = 0
        while !stopped.load(ordering: .relaxed) {
            let claimed = try Alerts.claim(store.database, limit: 10, lease: max(60, configuration.timeout * 3))
            if claimed.isEmpty { break }
            for delivery in claimed { deliver(delivery) }
            attempted += claimed.count
        }
        return attempted
    }

    func deliver(_ delivery: ClaimedDelivery) {
        let (body, contentType) = AlertWorker.body(delivery)
        let timestamp = Int(Date().timeIntervalSince1970)
        let signature = Crypto.hex(Crypto.hmacSHA256(key: Array(delivery.secret.utf8), message: Array("\(timestamp).".utf8) + body))
        let headers = [("Content-Type", contentType), ("Soot-Event", delivery.eventType), ("Soot-Delivery", delivery.id.idText),
                       ("Soot-Signature", "t=\(timestamp),v1=\(signature)")]
        var status: Int?, failure: String?
        do {
            let answer = try HTTPClient.post(delivery.url, headers: headers, body: body, timeout: configuration.timeout)
            status = answer.status
            if !(200...299).contains(answer.status) { failure = "HTTP \(answer.status) \(answer.body.prefix(200))" }
        } catch {
            failure = "\(error)"
        }
        let delivered = status.map { (200...299).contains($0) } ?? false
        metrics?.countDelivery(delivered ? "delivered" : "failed_attempt")
        do {
            try Alerts.complete(store.database, delivery, status: status, error: failure,
                                retryAfter: Alerts.backoff(attempts: delivery.attempts, base: configuration.retryBase),
                                giveUpAfter: configuration.giveUpAfter)
        } catch {
            logger.warning("could not record a webhook delivery", metadata: ["delivery": "\(delivery.id)", "error": "\(error)"])
        }
        if !delivered {
            logger.info("webhook delivery failed; tried again later", metadata: [
                "delivery": "\(delivery.id.idText)", "attempt": "\(delivery.attempts)", "error": "\(failure ?? "")"])
        }
    }

    /// The request body for the webhook's format: the event itself (json), or a message for Slack's or Teams'
    /// incoming webhooks.
    static func body(_ delivery: ClaimedDelivery) -> (body: [UInt8], contentType: String) {
        guard delivery.format != "json" else { return (Array(delivery.payload.utf8), "application/json") }
        let event = JSONValue.parse(Array(delivery.payload.utf8)) ?? .null
        let text = message(event)
        let title = event["scope"]?["name"]?.stringValue.map { "Soot: \($0)" } ?? "Soot"
        let value: JSONValue = delivery.format == "slack"
            ? ["text": .string(text)]
            : ["@type": "MessageCard", "@context": "https://schema.org/extensions", "summary": .string(title), "title": .string(title),
               "text": .string(text)]
        return (value.bytes, "application/json")
    }

    /// One sentence a person reads in a chat channel.
    static func message(_ event: JSONValue) -> String {
        func kg(_ key: String) -> String { event[key]?.numberValue.map { Formatting.significant($0) } ?? "?" }
        let scope = event["scope"]?["name"]?.stringValue ?? "?"
        let period = event["budget"]?["period"]?.stringValue ?? "?"
        let end = event["period"]?["end"]?.stringValue ?? "?"
        let link = event["link"]?.stringValue ?? ""
        switch event["type"]?.stringValue {
        case "budget.threshold":
            let threshold = event["threshold"]?.numberValue.map { String(Int($0)) } ?? "?"
            return "\(scope): \(threshold) % of its \(period)ly carbon budget reached (\(kg("used_kg")) of \(kg("limit_kg")) kg CO2e); "
                + "heading for \(kg("forecast_kg")) kg by \(end). \(link)"
        case "budget.forecast":
            return "\(scope): at this pace its \(period)ly carbon budget of \(kg("limit_kg")) kg CO2e will be exceeded "
                + "(\(kg("used_kg")) kg used, heading for \(kg("forecast_kg")) kg by \(end)). \(link)"
        default:
            return (event["message"]?.stringValue ?? "A message from Soot.") + " \(link)"
        }
    }

    private func scheduleCheck(after seconds: Double) {
        checkQueue.asyncAfter(deadline: .now() + seconds) { [self] in
            guard !stopped.load(ordering: .relaxed) else { return }
            do { try check() } catch { logger.warning("budget check failed; tried again", metadata: ["error": "\(error)"]) }
            scheduleCheck(after: configuration.checkInterval)
        }
    }

    private func scheduleSend(after seconds: Double) {
        sendQueue.asyncAfter(deadline: .now() + seconds) { [self] in
            guard !stopped.load(ordering: .relaxed) else { return }
            do { try sendDue() } catch { logger.warning("webhook sender failed; tried again", metadata: ["error": "\(error)"]) }
            scheduleSend(after: configuration.sendInterval)
        }
    }
}
