import Foundation
import HTTPServer
import Postgres
@testable import SootStore
@testable import SootWeb
import Synchronization
import TestSupport
import Testing

/// A real HTTP receiver for webhooks (Soot's own server, a route that records what arrives): it answers 204, or
/// is down (not listening) until started again on the same port.
final class Receiver: Sendable {
    struct Hit: Sendable {
        let body: [UInt8]
        let event: String?, delivery: String?, signature: String?, contentType: String?
        var json: JSONValue { JSONValue.parse(body) ?? .null }
    }

    final class Hits: Sendable {
        let list = Mutex<[Hit]>([])
        func append(_ hit: Hit) { list.withLock { $0.append(hit) } }
        var all: [Hit] { list.withLock { $0 } }
    }

    let hits = Hits()
    private let server = Mutex<Server?>(nil)
    let port: UInt16

    init() throws {
        var probe = Configuration(port: 0)
        probe.workerThreads = 2
        let first = Server(configuration: probe, responder: Receiver.router(hits: hits).build())
        try first.start()
        port = first.port
        server.withLock { $0 = first }
    }

    static func router(hits: Hits) -> Router {
        var router = Router()
        router.post("/hook") { request in
            let headers = request.headers
            hits.append(Hit(body: request.body, event: headers["Soot-Event"], delivery: headers["Soot-Delivery"],
                            signature: headers["Soot-Signature"], contentType: headers["Content-Type"]))
            return Response(status: .noContent)
        }
        return router
    }

    var url: String { "http://127.0.0.1:\(port)/hook" }

    func stop() { server.withLock { $0?.shutdown(gracePeriod: 1); $0 = nil } }

    func restart() throws {
        var configuration = Configuration(port: port)
        configuration.workerThreads = 2
        let again = Server(configuration: configuration, responder: Receiver.router(hits: hits).build())
        try again.start()
        server.withLock { $0 = again }
    }

    var received: [Hit] { hits.all }

    /// Waits up to `seconds` for `count` hits.
    func wait(for count: Int, seconds: Double = 20) -> [Hit] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline && received.count < count { usleep(50_000) }
        return received
    }
}

@Suite struct AlertTests {
    /// Alerts checked and sent fast, retried after 0.2 s.
    static func fast(_ configuration: inout AppConfiguration) {
        configuration.alerts.checkInterval = 0.2
        configuration.alerts.sendInterval = 0.1
        configuration.alerts.retryBase = 0.2
        configuration.alerts.timeout = 2
        configuration.alerts.publicURL = "https://soot.example.com"
    }

    func post(_ app: AppFixture, _ agent: Agent, kg: Double) throws {
        let run = try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: [
            "experiment_id": .string(agent.experimentID), "started_at": .string(ISOTime.format(Date().addingTimeInterval(-60))),
            "totals": ["energy_kwh": .number(kg * 5), "emissions_kg": .number(kg), "duration_seconds": 60],
        ])
        try #require(run.status == 201, "\(run.body)")
    }

    @Test func thresholdsAlertOnceEachSignedAndAReceiverThatWasDownGetsThemAll() throws {
        let receiver = try Receiver()
        defer { receiver.stop() }
        try withApp(configure: AlertTests.fast) { app in
            let agent = try Agent(app)
            let hook = try app.api("POST", "/api/v1/organizations/\(agent.organizationID)/webhooks", token: agent.personalToken,
                                   json: ["url": .string(receiver.url), "secret": "a shared secret of ours", "events": ["budget.threshold"]])
            try #require(hook.status == 201, "\(hook.body)")
            #expect(hook.body["secret"]?.stringValue == "a shared secret of ours" && hook.body["format"]?.stringValue == "json")
            // The project's yearly budget: 10 kg. 4 kg crosses nothing; 4.5 more cross 50 % and 80 %; 2 more cross 100 %.
            let budget = try app.api("POST", "/api/v1/budgets", token: agent.personalToken,
                                     json: ["project_id": .string(agent.projectID), "period": "year", "limit_kg": 10])
            try #require(budget.status == 201)
            try post(app, agent, kg: 4)
            usleep(600_000)
            #expect(receiver.received.isEmpty)
            try post(app, agent, kg: 2)
            try post(app, agent, kg: 2.5)
            let first = receiver.wait(for: 2)
            #expect(Set(first.compactMap { $0.json["threshold"]?.numberValue }) == [50, 80])
            // Down for a while: the 100 % event waits, retried, and arrives once the receiver is back.
            receiver.stop()
            try post(app, agent, kg: 2)
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline, try app.pool.query("""
                SELECT count(*) AS n FROM webhook_deliveries WHERE attempts >= 2 AND status = 'pending'
                """).first!.decode("n", as: Int.self) == 0 { usleep(100_000) }
            #expect(try app.pool.query("SELECT max(attempts) AS n FROM webhook_deliveries").first!.decode("n", as: Int.self) >= 2)
            try receiver.restart()
            let all = receiver.wait(for: 3)
            usleep(1_000_000)  // and nothing more comes: each event once
            let hits = receiver.received
            #expect(hits.count == 3 && all.count == 3)
            #expect(hits.compactMap { $0.json["threshold"]?.numberValue }.sorted() == [50, 80, 100])
            #expect(Set(hits.compactMap(\.delivery)).count == 3)
            for hit in hits {
                #expect(hit.event == "budget.threshold" && hit.contentType == "application/json")
                let event = hit.json
                #expect(event["scope"]?["name"]?.stringValue == "Vision" && event["budget"]?["period"]?.stringValue == "year")
                #expect(event["limit_kg"]?.numberValue == 10 && event["link"]?.stringValue == "https://soot.example.com/o/acme/ml/vision")
                #expect(event["organization"]?["name"]?.stringValue == "Acme")
                // Soot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">, with the webhook's secret.
                let parts = Dictionary(uniqueKeysWithValues: (hit.signature ?? "").split(separator: ",").map {
                    (String($0.prefix { $0 != "=" }), String($0.drop { $0 != "=" }.dropFirst()))
                })
                let expected = Crypto.hex(Crypto.hmacSHA256(key: Array("a shared secret of ours".utf8),
                                                            message: Array("\(parts["t"] ?? "").".utf8) + hit.body))
                #expect(parts["v1"] == expected)
                #expect(abs((Double(parts["t"] ?? "") ?? 0) - Date().timeIntervalSince1970) < 60)
            }
            // The deliveries are listed, delivered.
            let listed = try app.api("GET", "/api/v1/organizations/\(agent.organizationID)/webhooks", token: agent.personalToken)
            let deliveries = listed.body["data"]?.arrayValue.first?["deliveries"]?.arrayValue ?? []
            #expect(deliveries.count == 3 && deliveries.allSatisfy { $0["status"]?.stringValue == "delivered" })
        }
    }

    /// Two instances on one database, each checking budgets and sending: every event reaches the receiver once.
    @Test func twoInstancesDeliverEachEventOnce() throws {
        let receiver = try Receiver()
        defer { receiver.stop() }
        try withApp(configure: AlertTests.fast) { app in
            var configuration = AppConfiguration(publicDirectory: TestDatabase.repositoryRoot.appendingPathComponent("Public"))
            AlertTests.fast(&configuration)
            let second = Application(configuration: configuration, store: Store(database: app.pool))
            defer { second.shutdown() }
            let agent = try Agent(app)
            #expect(try app.api("POST", "/api/v1/organizations/\(agent.organizationID)/webhooks", token: agent.personalToken,
                                json: ["url": .string(receiver.url)]).status == 201)
            #expect(try app.api("POST", "/api/v1/budgets", token: agent.personalToken,
                                json: ["organization_id": .string(agent.organizationID), "period": "month", "limit_kg": 1,
                                       "thresholds": [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]]).status == 201)
            try post(app, agent, kg: 2)
            // Ten thresholds; the forecast is past the limit only while the limit is not spent, so no forecast event.
            let hits = receiver.wait(for: 10)
            usleep(1_500_000)
            #expect(receiver.received.count == 10 && hits.count == 10)
            #expect(Set(receiver.received.compactMap { $0.json["id"]?.stringValue }).count == 10)
            #expect(try app.pool.query("SELECT count(*) AS n FROM budget_events").first!.decode("n", as: Int.self) == 10)
        }
    }

    /// A forecast past the limit alerts once a day; Slack's format is a message; a test event can be sent; bad
    /// webhooks are refused by field.
    @Test func forecastSlackTestAndValidation() throws {
        let receiver = try Receiver()
        defer { receiver.stop() }
        try withApp(configure: AlertTests.fast) { app in
            let agent = try Agent(app)
            for (body, field) in [(["url": "ftp://x.test/hook"], "url"), (["url": "http://x.test/hook", "format": "xml"], "format"),
                                  (["url": "http://x.test/hook", "events": ["run.created"]], "events[0]"),
                                  (["url": "http://x.test/hook", "secret": "short"], "secret")] as [(JSONValue, String)] {
                let refused = try app.api("POST", "/api/v1/organizations/\(agent.organizationID)/webhooks", token: agent.personalToken, json: body)
                #expect(refused.status == 422 && refused.body["error"]?["field"]?.stringValue == field, "\(refused.body)")
            }
            let hook = try app.api("POST", "/api/v1/organizations/\(agent.organizationID)/webhooks", token: agent.personalToken,
                                   json: ["url": .string(receiver.url), "format": "slack", "events": ["budget.forecast"]])
            try #require(hook.status == 201)
            let secret = try #require(hook.body["secret"]?.stringValue)
            #expect(secret.hasPrefix("whsec_"))
            let id = try #require(hook.body["id"]?.stringValue)
            // 1 kg on each of the three days before today (when they are in this year) and 1 kg today; a yearly limit a
            // little above what is used, so that the pace of the last 14 days (3/14 kg a day) passes it by the year's end.
            let now = Date().timeIntervalSince1970
            let today = Int((now / 86_400).rounded(.down))
            let year = BudgetPeriod(.year, containing: today)
            let past = (1...3).map { today - $0 }.filter { $0 >= year.start }
            if !past.isEmpty {
                let report = try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: [
                    "experiment_id": .string(agent.experimentID),
                    "started_at": .string(ISOTime.format(Date(timeIntervalSince1970: Double(past.min()!) * 86_400))),
                    "samples": .array(past.map { day in
                        ["timestamp": .string(ISOTime.format(Date(timeIntervalSince1970: Double(day) * 86_400 + 43_200))),
                         "duration_seconds": 60, "energy_kwh": 5, "emissions_kg": 1]
                    }),
                ])
                try #require(report.status == 201, "\(report.body)")
            }
            let used = Double(past.count + 1)
            #expect(try app.api("POST", "/api/v1/budgets", token: agent.personalToken,
                                json: ["project_id": .string(agent.projectID), "period": "year",
                                       "limit_kg": .number(used + 0.1 * Double(year.end - today))]).status == 201)
            try post(app, agent, kg: 1)
            let hits = receiver.wait(for: 1)
            usleep(800_000)
            #expect(receiver.received.count == 1 && hits.first?.event == "budget.forecast")
            let text = hits.first?.json["text"]?.stringValue ?? ""
            #expect(text.contains("Vision: at this pace its yearly carbon budget of ") && text.contains("https://soot.example.com/o/acme/ml/vision"), "\(text)")
            // A test event, on demand.
            let test = try app.api("POST", "/api/v1/organizations/\(agent.organizationID)/webhooks/\(id)/test", token: agent.personalToken)
            #expect(test.status == 202)
            let withTest = receiver.wait(for: 2)
            #expect(withTest.last?.event == "test" && withTest.last?.json["text"]?.stringValue?.contains("A test from Soot") == true)
            // Another organization cannot see or use it.
            let other = try Agent(app, organization: "Other")
            #expect(try app.api("GET", "/api/v1/organizations/\(agent.organizationID)/webhooks", token: other.personalToken).status == 404)
            #expect(try app.api("POST", "/api/v1/organizations/\(other.organizationID)/webhooks/\(id)/test", token: other.personalToken).status == 404)
            #expect(try app.api("DELETE", "/api/v1/organizations/\(agent.organizationID)/webhooks/\(id)", token: agent.personalToken).status == 204)
        }
    }
}

/// A receiver that stays down past the day of retries (here half a second): the delivery is given up, the webhook
/// shows as failing on the API and in the metrics, and the next success clears it.
@Suite struct AlertGiveUpTests {
    @Test func aWebhookDownTooLongIsMarkedFailingUntilItAnswers() throws {
        let receiver = try Receiver()
        receiver.stop()
        try withApp(configure: { AlertTests.fast(&$0); $0.alerts.giveUpAfter = 0.5 }) { app in
            let agent = try Agent(app)
            let hook = try app.api("POST", "/api/v1/organizations/\(agent.organizationID)/webhooks", token: agent.personalToken,
                                   json: ["url": .string(receiver.url)])
            let id = try #require(hook.body["id"]?.stringValue)
            #expect(try app.api("POST", "/api/v1/organizations/\(agent.organizationID)/webhooks/\(id)/test", token: agent.personalToken).status == 202)
            let metrics = app.application.makeMetricsServer(host: "127.0.0.1", port: 0)
            try metrics.start()
            defer { metrics.shutdown(gracePeriod: 1) }
            var failing = false
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline && !failing {
                failing = try app.api("GET", "/api/v1/organizations/\(agent.organizationID)/webhooks", token: agent.personalToken)
                    .body["data"]?.arrayValue.first?["failing"] == .bool(true)
                usleep(100_000)
            }
            #expect(failing)
            let delivery = try app.pool.query("SELECT status, attempts, last_error FROM webhook_deliveries").first!
            #expect(try delivery.decode("status", as: String.self) == "failed" && delivery.decode("attempts", as: Int.self) >= 2)
            #expect(try delivery.decode("last_error", as: String.self).contains("cannot connect"))
            #expect(try MetricsTests().scrape(metrics).text.contains("soot_webhooks_failing 1\n"))
            // Back: the next test is delivered and the webhook is well again.
            try receiver.restart()
            defer { receiver.stop() }
            #expect(try app.api("POST", "/api/v1/organizations/\(agent.organizationID)/webhooks/\(id)/test", token: agent.personalToken).status == 202)
            #expect(receiver.wait(for: 1).count == 1)
            let healed = Date().addingTimeInterval(5)
            while Date() < healed, try MetricsTests().scrape(metrics).text.contains("soot_webhooks_failing 1\n") { usleep(100_000) }
            #expect(try MetricsTests().scrape(metrics).text.contains("soot_webhooks_failing 0\n"))
        }
    }
}

/// The alerts panel on the organization page: an owner adds a webhook (its secret shown once), sends a test that
/// arrives and is listed, and removes it; a plain member sees no panel.
@Suite struct AlertPageTests {
    @Test func anOwnerManagesWebhooksFromTheOrganizationPage() throws {
        let receiver = try Receiver()
        defer { receiver.stop() }
        try withApp(configure: AlertTests.fast) { app in
            _ = try Agent(app)
            var browser = try Browser.signedIn(app)
            let page = try browser.get("/o/acme")
            #expect(page.text.contains("<h2 id=\"alerts\">Alerts</h2>") && page.text.contains("No webhook yet"))
            let csrf = try #require(Browser.csrf(in: page.text))
            // A bad address comes back to the field.
            let refused = try browser.post("/o/acme/-/webhooks", form: [("csrf_token", csrf), ("url", "ftp://nope"), ("events", "budget.threshold")])
            #expect(refused.status == 303)
            #expect(try browser.get("/o/acme").text.contains("Give an http:// or https:// address."))
            let added = try browser.post("/o/acme/-/webhooks", form: [("csrf_token", csrf), ("url", receiver.url), ("format", "json"),
                                                                      ("events", "budget.threshold"), ("events", "budget.forecast")])
            #expect(added.status == 201 && added.text.contains("whsec_"))
            let listed = try browser.get("/o/acme")
            #expect(listed.text.contains("<code>\(receiver.url)</code>") && listed.text.contains("budget.forecast, budget.threshold"))
            let id = try app.pool.query("SELECT id FROM webhooks").first!.decode("id", as: UUID.self)
            #expect(try browser.post("/o/acme/-/webhooks/\(id.idText)/test", form: [("csrf_token", csrf)]).status == 303)
            let hits = receiver.wait(for: 1)
            #expect(hits.first?.event == "test")
            let deadline = Date().addingTimeInterval(5)
            var after = ""
            while Date() < deadline {
                after = try browser.get("/o/acme").text
                if after.contains("<span class=\"badge on_track\">delivered</span>") { break }
                usleep(100_000)
            }
            #expect(after.contains("Last deliveries") && after.contains("<span class=\"badge on_track\">delivered</span>") && after.contains("HTTP 204"))
            // Without the CSRF token nothing happens.
            #expect(try browser.post("/o/acme/-/webhooks/\(id.idText)/delete", form: []).status == 403)
            #expect(try browser.post("/o/acme/-/webhooks/\(id.idText)/delete", form: [("csrf_token", csrf)]).status == 303)
            #expect(try app.pool.query("SELECT count(*) AS n FROM webhooks").first!.decode("n", as: Int.self) == 0)
            // A member who is not an admin sees no alerts panel and cannot add one.
            let (memberID, _) = try makeUser(app.pool, email: "plain@acme.test")
            try app.pool.query("""
                INSERT INTO organization_members (organization_id, user_id, role) SELECT id, \(memberID), 'member' FROM organizations
                """)
            var member = try Browser.signedIn(app, email: "plain@acme.test")
            let memberPage = try member.get("/o/acme")
            #expect(memberPage.status == 200 && !memberPage.text.contains("id=\"alerts\""))
            let memberCSRF = try #require(Browser.csrf(in: memberPage.text))
            #expect(try member.post("/o/acme/-/webhooks", form: [("csrf_token", memberCSRF), ("url", receiver.url), ("events", "budget.threshold")]).status == 403)
        }
    }
}

/// Thresholds crossed by what real agents send: the `codecarbon` client posting live, and an import of the client's
/// own emissions.csv; each alert once, whatever repeats.
@Suite(.serialized) struct AlertSourcesTests {
    func webhook(_ app: AppFixture, _ agent: Agent, _ receiver: Receiver) throws {
        let hook = try app.api("POST", "/api/v1/organizations/\(agent.organizationID)/webhooks", token: agent.personalToken,
                               json: ["url": .string(receiver.url), "events": ["budget.threshold"]])
        try #require(hook.status == 201, "\(hook.body)")
    }

    @Test func liveCodeCarbonPostsAlertOncePerThreshold() throws {
        let venv = try CodeCarbonClient.venv.get()
        let receiver = try Receiver()
        defer { receiver.stop() }
        try withApp(configure: AlertTests.fast) { app in
            let agent = try Agent(app)
            try webhook(app, agent, receiver)
            // A limit the first post passes: 50 % and 100 % crossed at once, and every later post changes nothing.
            #expect(try app.api("POST", "/api/v1/budgets", token: agent.personalToken,
                                json: ["project_id": .string(agent.projectID), "period": "month", "limit_kg": 1e-9, "thresholds": [50, 100]]).status == 201)
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("soot-cc-alert-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: output) }
            let script = TestDatabase.repositoryRoot.appendingPathComponent("Tests/CodeCarbon/track.py").path
            let result = try Shell.run(venv + "/bin/python", [script, "http://127.0.0.1:\(app.port)", agent.projectToken, agent.experimentID, output.path])
            #expect(result.status == 0, "\(result.errors.suffix(2000))")
            let report = JSONValue.parse(Array(result.output.split(separator: "\n").last.map(String.init)?.utf8 ?? "".utf8)) ?? .null
            let accepted = (report["posts"]?.arrayValue ?? []).filter { $0["status"] == 201 }.count
            #expect(accepted >= 2, "the client made \(accepted) accepted posts")
            let hits = receiver.wait(for: 2)
            usleep(1_000_000)
            #expect(receiver.received.count == 2 && hits.count == 2)
            #expect(receiver.received.compactMap { $0.json["threshold"]?.numberValue }.sorted() == [50, 100])
        }
    }

    @Test func anImportAlertsOnceAndImportingAgainDoesNot() throws {
        let file = try ReportTests.codeCarbonFile.get()
        let records = try CSVReader.records(file)
        let header = records[0].fields
        var last: [String: Double] = [:]
        for record in records.dropFirst() {
            let row = Dictionary(uniqueKeysWithValues: zip(header, record.fields))
            last[row["run_id"]!] = Double(row["emissions"]!)!
        }
        let total = last.values.reduce(0, +)
        try #require(total > 0)
        let receiver = try Receiver()
        defer { receiver.stop() }
        try withApp(configure: AlertTests.fast) { app in
            let agent = try Agent(app)
            try webhook(app, agent, receiver)
            // The file's emissions are 80 % of the limit: 50 % and 80 % are crossed, 100 % is not.
            #expect(try app.api("POST", "/api/v1/budgets", token: agent.personalToken,
                                json: ["project_id": .string(agent.projectID), "period": "month", "limit_kg": .number(total / 0.8 * 0.999999)]).status == 201)
            let first = try ReportTests().importFile(app, agent, file)
            #expect(first.status == 201, "\(first.body)")
            let hits = receiver.wait(for: 2)
            #expect(hits.compactMap { $0.json["threshold"]?.numberValue }.sorted() == [50, 80])
            let again = try ReportTests().importFile(app, agent, file)
            #expect(again.status == 201 && again.body["samples_imported"] == 0)
            usleep(1_500_000)
            #expect(receiver.received.count == 2)
        }
    }
}

/// Deliveries over TLS: a receiver with a certificate the system trusts (here through `SSL_CERT_FILE`) gets the
/// event; one whose certificate does not name the host it is reached by gets nothing, and the delivery says why.
@Suite(.serialized) struct AlertTLSTests {
    @Test func anHTTPSReceiverGetsTheEventAndAWrongNameIsRefused() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("soot-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let cert = folder.appendingPathComponent("cert.pem").path, key = folder.appendingPathComponent("key.pem").path
        let made = try Shell.run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                                                      "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"])
        try #require(made.status == 0, "\(made.errors)")
        let output = folder.appendingPathComponent("received.jsonl").path
        let receiver = try Shell.start("/usr/bin/python3", [TestDatabase.repositoryRoot.appendingPathComponent("Tests/Alerts/tls_receiver.py").path,
                                                            cert, key, output])
        defer { receiver.signal(SIGKILL); _ = receiver.wait(timeout: 5) }
        var port = ""
        let started = Date().addingTimeInterval(10)
        while port.isEmpty && Date() < started { port = receiver.output.trimmingCharacters(in: .whitespacesAndNewlines); usleep(50_000) }
        try #require(!port.isEmpty, "the TLS receiver did not start")
        setenv("SSL_CERT_FILE", cert, 1)
        defer { unsetenv("SSL_CERT_FILE") }
        try withApp(configure: AlertTests.fast) { app in
            let agent = try Agent(app)
            var ids: [String] = []
            for url in ["https://localhost:\(port)/hook", "https://127.0.0.1:\(port)/hook"] {
                let hook = try app.api("POST", "/api/v1/organizations/\(agent.organizationID)/webhooks", token: agent.personalToken, json: ["url": .string(url)])
                ids.append(try #require(hook.body["id"]?.stringValue))
            }
            for id in ids {
                #expect(try app.api("POST", "/api/v1/organizations/\(agent.organizationID)/webhooks/\(id)/test", token: agent.personalToken).status == 202)
            }
            let deadline = Date().addingTimeInterval(15)
            var received: [String] = []
            var wrongName: JSONValue = .null
            while Date() < deadline {
                received = ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
                wrongName = try app.api("GET", "/api/v1/organizations/\(agent.organizationID)/webhooks/\(ids[1])/deliveries", token: agent.personalToken)
                    .body["data"]?.arrayValue.first ?? .null
                if received.count == 1 && wrongName["last_error"]?.stringValue != nil { break }
                usleep(100_000)
            }
            #expect(received.count == 1 && received.first?.contains("\"event\": \"test\"") == true, "\(received)")
            #expect(wrongName["status"]?.stringValue == "pending" && wrongName["last_error"]?.stringValue?.contains("TLS handshake") == true,
                    "\(wrongName)")
            let good = try app.api("GET", "/api/v1/organizations/\(agent.organizationID)/webhooks/\(ids[0])/deliveries", token: agent.personalToken)
            #expect(good.body["data"]?.arrayValue.first?["status"]?.stringValue == "delivered")
        }
    }
}
