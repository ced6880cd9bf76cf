import Foundation
import HTTPServer
import Logging
import Synchronization
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

/// What an attacker or a fault tried against Soot (issue 15), each kept as the test that failed before its fix.
@Suite struct HardeningTests {
    struct Setup {
        var organization = "", team = "", project = "", experiment = "", run = ""
        var owner = "", projectToken = "", readOnlyProjectToken = ""
    }

    static func setUp(_ app: AppFixture, name: String = "Hardening") throws -> Setup {
        var setup = Setup()
        let made = try Bootstrap.run(app.pool, .init(organization: "\(name) Org", team: "\(name) Team", project: "\(name) Project",
                                                     experiment: "\(name) Experiment", email: "owner@\(name.lowercased()).test"))
        setup.organization = made["organization_id"]!.stringValue!
        setup.team = made["team_id"]!.stringValue!
        setup.project = made["project_id"]!.stringValue!
        setup.experiment = made["experiment_id"]!.stringValue!
        setup.owner = made["personal_token"]!.stringValue!
        setup.projectToken = made["project_token"]!.stringValue!
        setup.readOnlyProjectToken = try app.api("POST", "/api/v1/projects/\(setup.project)/tokens", token: setup.owner,
                                                 json: ["name": "ro", "scope": "read"]).body["token"]!.stringValue!
        let run = try app.api("POST", "/runs", token: nil, json: [
            "timestamp": "2026-11-01T10:00:00+00:00", "experiment_id": .string(setup.experiment),
        ], headers: [("x-api-token", setup.projectToken)])
        #expect(run.status == 201)
        setup.run = run.body["id"]?.stringValue ?? ""
        return setup
    }

    /// Item 1: `page=Int64.max` overflowed `(page - 1) * size` and trapped the process. Every number from the query
    /// is parsed into its documented range; outside it is a 422 naming the parameter, and the server keeps serving.
    @Test func numbersFromTheQueryAreRangeCheckedNeverTrap() throws {
        try withApp { app in
            let setup = try HardeningTests.setUp(app)
            let token = setup.readOnlyProjectToken
            for prefix in ["", "/api"] {
                for (query, field) in [("page=9223372036854775807", "page"), ("page=99999999999999999999999", "page"),
                                       ("page=0", "page"), ("page=-1", "page"), ("page=1e3", "page"), ("size=0", "size"),
                                       ("size=10001", "size"), ("size=abc", "size"), ("page=%2B1", "page")] {
                    let answer = try app.api("GET", "\(prefix)/runs/\(setup.run)/emissions?\(query)", token: token)
                    #expect(answer.status == 422, "\(query)")
                    #expect(answer.body["detail"]?.arrayValue.first?["loc"]?.arrayValue.last?.stringValue == field, "\(query)")
                }
                let fine = try app.api("GET", "\(prefix)/runs/\(setup.run)/emissions?page=100000&size=10000", token: token)
                #expect(fine.status == 200)
                #expect(fine.body["items"] == .array([]))
            }
            for (query, field) in [("limit=99999999999999999999", "limit"), ("offset=10000001", "offset"), ("offset=-5", "offset"),
                                   ("limit=0", "limit")] {
                let answer = try app.api("GET", "/api/v1/projects/\(setup.project)/experiments?\(query)", token: setup.owner)
                #expect(answer.status == 422, "\(query)")
                #expect(answer.body["error"]?["field"]?.stringValue == field, "\(query)")
            }
            // Still up.
            #expect(try app.api("GET", "/api/runs/\(setup.run)/emissions", token: token).status == 200)
        }
    }

    /// Item 14: `/login?next=/%09/evil.example` sent the browser off-site (it drops the tab: `//evil.example`).
    @Test func loginRedirectsStayOnThisOrigin() throws {
        for evil in ["/\t/evil.example", "/\n/evil.example", "/\r//evil.example", "/\\evil.example", "/\u{0}/evil.example",
                     " //evil.example", "/ /evil.example", "//evil.example", "https://evil.example", "/x\\..\\\\evil"] {
            #expect(LoginRoutes.safeNext(evil) == "/", "\(evil.debugDescription)")
        }
        for fine in ["/", "/o/acme?range=7d", "/o/acme/team%20a", "/%2F/x"] {
            #expect(LoginRoutes.safeNext(fine) == fine)
        }
        try withApp { app in
            let made = try Bootstrap.run(app.pool, .init(organization: "O", team: "T", project: "P", experiment: "E", email: "next@test.test"))
            _ = made
            let password = "a long password 123"
            try app.pool.query("UPDATE users SET password_hash = \(PasswordHasher.hash(password, iterations: 1000)), must_change_password = false WHERE email = 'next@test.test'")
            let form = try app.send("GET", "/login?next=/%09/evil.example")
            let cookie = try #require(form.header("Set-Cookie")?.split(separator: ";").first.map(String.init))
            let csrf = String(cookie.split(separator: "=")[1])
            let body = "csrf_token=\(csrf)&email=next%40test.test&password=a+long+password+123&next=%2F%09%2Fevil.example"
            let login = try app.send("POST", "/login", headers: [("Cookie", cookie), ("Content-Type", "application/x-www-form-urlencoded")],
                                     body: Array(body.utf8))
            #expect(login.status == 303 || login.status == 302)
            #expect(login.header("Location") == "/")
        }
    }

    /// Item 16: `/%69ngest/{token}` routes like `/ingest/{token}` and was logged with the token in clear.
    @Test func ingestTokensAreRedactedWhateverTheSpelling() {
        let token = "soot_prj_abcdefghijklmnopqrstuvwxyz0123456789"
        for path in ["/ingest/\(token)", "/%69ngest/\(token)", "/%69%6E%67%65%73%74/\(token)", "//ingest//\(token)",
                     "/api/ingest/\(token)/more", "/INGEST/\(token)", "/ingest/\(token)%zz"] {
            let logged = Redaction.path(path)
            #expect(!logged.contains("abcdefghijklmnop"), "\(path) -> \(logged)")
            #expect(logged.contains("[redacted]"), "\(path)")
        }
        #expect(Redaction.path("/o/acme/runs") == "/o/acme/runs")
        #expect(Redaction.path("/o/caf%C3%A9") == "/o/caf%C3%A9")
    }

    /// Item 18: a write-scope project token renamed experiments; the README says it creates experiments and posts runs.
    @Test func aProjectTokenCannotChangeWhatExists() throws {
        try withApp { app in
            let setup = try HardeningTests.setUp(app)
            let rename = try app.api("PATCH", "/api/v1/experiments/\(setup.experiment)", token: setup.projectToken, json: ["name": "Renamed"])
            #expect(rename.status == 403)
            let name = try app.pool.query("SELECT name FROM experiments WHERE id = \(UUID(uuidString: setup.experiment)!)").first!.decode("name", as: String.self)
            #expect(name == "Hardening Experiment")
            // What it may do still works.
            let created = try app.api("POST", "/api/v1/projects/\(setup.project)/experiments", token: setup.projectToken, json: ["name": "New"])
            #expect(created.status == 201)
            #expect(try app.api("PATCH", "/api/v1/experiments/\(setup.experiment)", token: setup.owner, json: ["name": "Renamed"]).status == 200)
        }
    }

    /// Item 19: U+202E and the other bidi controls made a name display as something else in pages and CSV.
    @Test func bidirectionalControlsAreRefusedInNames() throws {
        try withApp { app in
            let setup = try HardeningTests.setUp(app)
            for control in ["\u{202A}", "\u{202B}", "\u{202C}", "\u{202D}", "\u{202E}", "\u{2066}", "\u{2067}", "\u{2068}", "\u{2069}"] {
                let answer = try app.api("POST", "/api/v1/teams/\(setup.team)/projects", token: setup.owner,
                                         json: ["name": .string("Budget\(control)txt.exe")])
                #expect(answer.status == 422)
                #expect(answer.body["error"]?["field"] == "name")
                let description = try app.api("PATCH", "/api/v1/projects/\(setup.project)", token: setup.owner,
                                              json: ["description": .string("a\(control)b")])
                #expect(description.status == 422)
            }
            // Right-to-left text itself is welcome.
            #expect(try app.api("POST", "/api/v1/teams/\(setup.team)/projects", token: setup.owner, json: ["name": "مشروع"]).status == 201)
            let count = try app.pool.query("SELECT count(*) AS n FROM projects WHERE name LIKE 'Budget%'").first!.decode("n", as: Int.self)
            #expect(count == 0)
        }
    }

    static func loginUser(_ app: AppFixture) throws -> (email: String, password: String) {
        try app.pool.transaction { try Accounts.createUser($0, email: "lin@example.com", name: "Lin", password: "correct horse battery") }
        return ("lin@example.com", "correct horse battery")
    }

    /// Item 12: the lock was read before the failure was recorded, so 30 parallel wrong passwords were all checked.
    @Test func parallelGuessesGetNoMoreThanTheFreeAttempts() throws {
        try withApp { app in
            let (email, _) = try HardeningTests.loginUser(app)
            let statuses = Mutex<[Int]>([])
            // Thirty guesses at once, each on a thread of its own: their forms first, then the posts together.
            var forms: [Browser] = []
            for _ in 0..<30 {
                var browser = Browser(app: app)
                _ = try browser.get("/login")
                forms.append(browser)
            }
            let group = DispatchGroup()
            for (index, form) in forms.enumerated() {
                group.enter()
                Thread {
                    var browser = form
                    let token = browser.cookies[LoginRoutes.loginCSRFCookie] ?? ""
                    let status = (try? browser.post("/login", form: [("csrf_token", token), ("email", email),
                                                                     ("password", "wrong guess \(index)")]).status) ?? 0
                    statuses.withLock { $0.append(status) }
                    group.leave()
                }.start()
            }
            group.wait()
            let all = statuses.withLock { $0 }
            #expect(all.count == 30)
            #expect(all.filter { $0 == 401 }.count == LoginThrottle.freeFailuresPerAccountAndAddress, "\(all.sorted())")
            #expect(all.filter { $0 == 429 }.count == 30 - LoginThrottle.freeFailuresPerAccountAndAddress)
        }
    }

    /// Item 13: five failures for made-up emails from one address locked every account's correct login from it
    /// (behind a load balancer: everyone's). Lock-outs are per account and address; an address alone is slowed
    /// only past a higher limit; `X-Forwarded-For` counts only from a trusted proxy.
    @Test func oneAddressDoesNotLockOutEveryone() throws {
        let proxies = try TrustedProxies.parse("127.0.0.1/32, ::1").get()
        try withApp(configure: { $0.trustedProxies = proxies }) { app in
            let (email, password) = try HardeningTests.loginUser(app)
            func attempt(_ email: String, _ password: String, from address: String, chain: String? = nil) throws -> Int {
                let login = try app.send("GET", "/login")
                let cookie = try #require(login.header("Set-Cookie")?.split(separator: ";").first.map(String.init))
                let csrf = try #require(Browser.csrf(in: login.text))
                let body = "csrf_token=\(csrf)&email=\(FormDecoding.encode(email))&password=\(FormDecoding.encode(password))"
                return try app.send("POST", "/login", headers: [("Cookie", cookie), ("Content-Type", "application/x-www-form-urlencoded"),
                                                                 ("X-Forwarded-For", chain ?? address)], body: Array(body.utf8)).status
            }
            // Made-up accounts from the attacker's address, more than the per-account allowance.
            for index in 0..<8 { #expect(try attempt("nobody\(index)@example.com", "guess", from: "203.0.113.9") == 401) }
            // The real user behind the same load balancer, from their own address, and even from the attacker's.
            #expect(try attempt(email, password, from: "198.51.100.7") == 303)
            #expect(try attempt(email, password, from: "203.0.113.9") == 303)
            // Guessing the real account from one address locks that address out of that account only.
            for index in 0..<5 { #expect(try attempt(email, "wrong \(index)", from: "203.0.113.9") == 401) }
            #expect(try attempt(email, password, from: "203.0.113.9") == 429)
            // A client cannot pick its own address: the left entries of a chain are not believed past an untrusted hop.
            #expect(try attempt(email, password, from: "", chain: "198.51.100.7, 203.0.113.9") == 429)
            #expect(try attempt(email, password, from: "198.51.100.7") == 303)
            // A spray from one address is slowed once it passes the per-address limit, for that address alone.
            for index in 0..<LoginThrottle.freeFailuresPerAddress {
                #expect(try attempt("spray\(index)@example.com", "guess", from: "192.0.2.50") == 401)
            }
            #expect(try attempt("another@example.com", "guess", from: "192.0.2.50") == 429)
            #expect(try attempt(email, password, from: "198.51.100.8") == 303)
        }
    }

    @Test func forwardedAddressesAreBelievedOnlyFromTrustedProxies() throws {
        let proxies = try TrustedProxies.parse("10.0.0.0/8, 127.0.0.1, fd00::/8").get()
        func request(peer: String, forwarded: [String], proto: String? = nil) -> Request {
            var headers = HTTPHeaders()
            for value in forwarded { headers.add("X-Forwarded-For", value) }
            if let proto { headers.add("X-Forwarded-Proto", proto) }
            return Request(head: RequestHead(method: .get, target: "/", path: "/", headers: headers), remoteAddress: peer)
        }
        #expect(proxies.clientAddress(request(peer: "127.0.0.1", forwarded: ["203.0.113.1"])) == "203.0.113.1")
        #expect(proxies.clientAddress(request(peer: "127.0.0.1", forwarded: ["198.51.100.1, 203.0.113.1, 10.1.2.3"])) == "203.0.113.1")
        #expect(proxies.clientAddress(request(peer: "127.0.0.1", forwarded: ["198.51.100.1", "10.9.9.9"])) == "198.51.100.1")
        #expect(proxies.clientAddress(request(peer: "203.0.113.5", forwarded: ["10.0.0.1"])) == "203.0.113.5")
        #expect(proxies.clientAddress(request(peer: "fd00::1", forwarded: ["2001:db8::7"])) == "2001:db8::7")
        #expect(proxies.clientAddress(request(peer: "127.0.0.1", forwarded: ["garbage, 10.0.0.2"])) == "10.0.0.2")
        #expect(proxies.isHTTPS(request(peer: "127.0.0.1", forwarded: [], proto: "https")))
        #expect(!proxies.isHTTPS(request(peer: "203.0.113.5", forwarded: [], proto: "https")))
        #expect(!proxies.isHTTPS(request(peer: "127.0.0.1", forwarded: [], proto: "http")))
        #expect(!TrustedProxies.none.isHTTPS(request(peer: "127.0.0.1", forwarded: [], proto: "https")))
        #expect(TrustedProxies.none.clientAddress(request(peer: "127.0.0.1", forwarded: ["1.2.3.4"])) == "127.0.0.1")
        for bad in ["10.0.0.0/33", "example.com", "1.2.3", "::1/129", "10.0.0.0/x"] {
            #expect((try? TrustedProxies.parse(bad).get()) == nil, "\(bad)")
        }
    }

    /// Item 15: cookies are Secure when the request came over HTTPS through a trusted proxy.
    @Test func cookiesAreSecureBehindATrustedHTTPSProxy() throws {
        let proxies = try TrustedProxies.parse("127.0.0.1").get()
        try withApp(configure: { $0.trustedProxies = proxies }) { app in
            let plain = try app.send("GET", "/login")
            #expect(plain.header("Set-Cookie")?.contains("Secure") == false)
            let https = try app.send("GET", "/login", headers: [("X-Forwarded-Proto", "https")])
            #expect(https.header("Set-Cookie")?.contains("; Secure") == true)
        }
        try withApp { app in
            let untrusted = try app.send("GET", "/login", headers: [("X-Forwarded-Proto", "https")])
            #expect(untrusted.header("Set-Cookie")?.contains("Secure") == false)
        }
    }

    /// Item 15: pages had no CSP, framing protection, nosniff or referrer policy, so one-click forms could be
    /// clickjacked; answers with secrets could be stored by caches.
    @Test func everyAnswerCarriesSecurityHeaders() throws {
        try withApp { app in
            let setup = try HardeningTests.setUp(app)
            let token = try app.api("POST", "/api/v1/projects/\(setup.project)/tokens", token: setup.owner, json: ["name": "ci"])
            #expect(token.status == 201)
            var answers = [try app.send("GET", "/login"), try app.send("GET", "/nothing-here"), try app.send("GET", "/methodology"),
                           try app.send("POST", "/api/v1/projects/\(setup.project)/tokens",
                                        headers: [("Authorization", "Bearer \(setup.owner)"), ("Content-Type", "application/json")],
                                        body: Array("{\"name\":\"x\"}".utf8))]
            answers.append(try app.send("GET", "/static/soot.css"))
            for answer in answers {
                let csp = try #require(answer.header("Content-Security-Policy"))
                #expect(csp.contains("frame-ancestors 'none'"))
                #expect(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"))
                #expect(answer.header("X-Frame-Options") == "DENY")
                #expect(answer.header("X-Content-Type-Options") == "nosniff")
                #expect(answer.header("Referrer-Policy") == "same-origin")
                #expect(answer.headers("Cache-Control").count == 1)
            }
            #expect(answers[0].header("Cache-Control") == "no-store")  // the login form's CSRF token
            #expect(answers[3].header("Cache-Control") == "no-store")  // a new token
            #expect(answers[2].header("Cache-Control") == "public, max-age=300")
            #expect(answers[4].header("Cache-Control")?.contains("max-age") == true)
            // No page needs inline style or script, which the policy would block.
            var browser = Browser(app: app)
            try app.pool.query("UPDATE users SET password_hash = \(PasswordHasher.hash("a long password 123", iterations: 1000)), must_change_password = false")
            _ = try browser.logIn(email: "owner@hardening.test", password: "a long password 123")
            let slug = try app.pool.query("SELECT slug FROM organizations").first!.decode("slug", as: String.self)
            for path in ["/", "/o/\(slug)", "/methodology"] {
                let page = try browser.get(path)
                #expect(page.status == 200, "\(path)")
                #expect(!page.text.contains("style=\"") && !page.text.contains("<script>") && !page.text.contains(" onclick="), "\(path)")
            }
        }
    }

    /// A CodeCarbon-shaped emissions.csv: `runs` runs of `rows` cumulative rows each.
    static func emissionsCSV(runs: Int, rows: Int) -> [UInt8] {
        var text = "timestamp,project_name,run_id,duration,emissions,emissions_rate,cpu_energy,ram_energy,energy_consumed\n"
        for run in 0..<runs {
            for row in 1...rows {
                let energy = Double(row) * 0.001
                text += "2026-10-0\(1 + run % 9)T10:\(String(format: "%02d", row % 60)):00,Offline,run-\(run),\(row * 10),\(energy * 0.4),0.00004,\(energy * 0.8),\(energy * 0.2),\(energy)\n"
            }
        }
        return Array(text.utf8)
    }

    /// Item 5: of three concurrent imports of one file, one imported and two got 409 naming the field `name`.
    @Test func concurrentImportsOfOneFileAllSucceedAndCountOnce() throws {
        try withApp { app in
            let setup = try HardeningTests.setUp(app)
            let file = HardeningTests.emissionsCSV(runs: 40, rows: 5)
            let answers = Mutex<[(Int, JSONValue)]>([])
            DispatchQueue.concurrentPerform(iterations: 3) { _ in
                let answer = (try? app.send("POST", "/api/v1/projects/\(setup.project)/import?experiment_id=\(setup.experiment)",
                                            headers: [("Authorization", "Bearer \(setup.owner)"), ("Content-Type", "text/csv")], body: file))
                answers.withLock { $0.append((answer?.status ?? 0, answer.flatMap { JSONValue.parse($0.body) } ?? .null)) }
            }
            let all = answers.withLock { $0 }
            #expect(all.map(\.0) == [201, 201, 201], "\(all.map { $0.1.serialized })")
            #expect(all.compactMap { $0.1["runs_created"]?.numberValue }.reduce(0, +) == 40)
            #expect(all.compactMap { $0.1["samples_imported"]?.numberValue }.reduce(0, +) == 200)
            #expect(all.compactMap { $0.1["duplicates"]?.numberValue }.reduce(0, +) == 400)
            let counts = try app.pool.query("""
                SELECT (SELECT count(*) FROM runs WHERE source = 'import') AS runs, (SELECT count(*) FROM emission_samples s
                        JOIN runs r ON r.id = s.run_id WHERE r.source = 'import') AS samples,
                       (SELECT sum(energy_kwh) FROM runs WHERE source = 'import')::text AS energy
                """).first!
            #expect(try counts.decode("runs", as: Int.self) == 40)
            #expect(try counts.decode("samples", as: Int.self) == 200)
            let energy = try counts.decode("energy", as: String.self)
            #expect(abs((Double(energy) ?? 0) - 0.2) < 1e-12, "\(energy)")
        }
    }

    /// A duplicate that is not about a name does not blame the field `name`.
    @Test func uniqueViolationsNameOnlyTheirOwnField() {
        let name = DatabaseError(.query, sqlState: "23505", message: "dup", constraint: "projects_team_id_name_key").appError
        #expect(name.status == .conflict && name.field == "name")
        let race = DatabaseError(.query, sqlState: "23505", message: "dup", constraint: "runs_client_key").appError
        #expect(race.status == .conflict && race.field == nil && !race.message.contains("name"))
        let email = DatabaseError(.query, sqlState: "23505", message: "dup", constraint: "users_email_key").appError
        #expect(email.field == "email")
    }

    /// Item 3: twenty clients that never read a samples export, with one read-only token, held every pooled
    /// connection, and pages, `/readyz`, `POST /runs` and `POST /emissions` answered 503. Exports now have their own
    /// capped connections and a per-caller share.
    @Test func stalledExportsDoNotStarveIngestOrPages() throws {
        try withApp(http: { $0.writeTimeout = 4 }) { app in
            let setup = try HardeningTests.setUp(app)
            let runID = UUID(uuidString: setup.run)!
            try app.pool.query("SELECT soot_sample_partition(now() - interval '2 days')")  // samples are partitioned by month (0011)
            try app.pool.query("""
                INSERT INTO emission_samples (id, organization_id, run_id, "timestamp", duration_seconds, emissions_kg, energy_kwh)
                SELECT gen_random_uuid(), \(UUID(uuidString: setup.organization)!), \(runID), now() - g * interval '1 second', 1, 0.001, 0.002
                FROM generate_series(1, 150000) g
                """)
            var readers = [setup.readOnlyProjectToken]
            for index in 0..<5 {
                readers.append(try app.api("POST", "/api/v1/projects/\(setup.project)/tokens", token: setup.owner,
                                           json: ["name": .string("reader \(index)"), "scope": "read"]).body["token"]!.stringValue!)
            }
            // 50 exports whose clients never read: 20 with one token (as found), 30 spread over five more.
            var stalled: [RawConnection] = []
            for index in 0..<50 {
                let token = index < 20 ? readers[0] : readers[1 + index % 5]
                let connection = try RawConnection(port: app.port)
                try connection.send("GET /api/v1/runs/\(setup.run)/samples.csv HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(token)\r\n\r\n")
                stalled.append(connection)
            }
            usleep(1_500_000)
            // Everyone else is served, promptly.
            for round in 0..<5 {
                let start = Date()
                #expect(try app.send("GET", "/readyz").status == 200, "round \(round)")
                #expect(try app.send("GET", "/login").status == 200)
                #expect(try app.api("GET", "/api/v1/projects/\(setup.project)", token: setup.owner).status == 200)
                let run = try app.api("POST", "/runs", token: nil, json: ["timestamp": "2026-11-02T10:00:00+00:00",
                                                                        "experiment_id": .string(setup.experiment)],
                                      headers: [("x-api-token", setup.projectToken)])
                #expect(run.status == 201)
                let emission = try app.api("POST", "/emissions", token: nil, json: [
                    "timestamp": "2026-11-02T10:00:15+00:00", "run_id": run.body["id"] ?? .null, "duration": 15,
                    "emissions_sum": 0.0001, "emissions_rate": 0.00001, "cpu_power": 10, "gpu_power": 0, "ram_power": 3,
                    "cpu_energy": 0.0001, "gpu_energy": 0, "ram_energy": 0.00002, "energy_consumed": 0.00012,
                ], headers: [("x-api-token", setup.projectToken)])
                #expect(emission.status == 201)
                #expect(Date().timeIntervalSince(start) < 2, "round \(round) took \(Date().timeIntervalSince(start)) s")
            }
            // The stalled exports themselves: at most their share runs; the others were told to come back later.
            var refused = 0
            var statuses: [Int] = []
            for connection in stalled {
                guard let head = try? connection.readResponse(timeout: 0.2, forHead: true) else { statuses.append(0); continue }
                statuses.append(head.status)
                if head.status == 503 {
                    refused += 1
                    #expect(head.header("Retry-After") != nil)
                }
            }
            #expect(refused >= 50 - app.application.reports.configuration.connections, "\(refused) refused: \(statuses)")
            #expect(app.application.reports.runningCount <= app.application.reports.configuration.connections)
            // A third export of one caller is refused at once.
            let third = try app.send("GET", "/api/v1/runs/\(setup.run)/samples.csv", headers: [("Authorization", "Bearer \(readers[0])")])
            #expect(third.status == 503)
            // Past the write timeout the server gives up on the clients that still do not read: their queries end
            // and the connections come back, though the clients are still connected.
            let deadline = Date().addingTimeInterval(10)
            while app.application.reports.runningCount > 0 && Date() < deadline { usleep(100_000) }
            #expect(app.application.reports.runningCount == 0)
            let copying = try app.pool.query("""
                SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'COPY%' AND state = 'active' AND pid <> pg_backend_pid()
                """).first!.decode("n", as: Int.self)
            #expect(copying == 0)
            #expect(try app.send("GET", "/api/v1/runs/\(setup.run)/samples.csv", headers: [("Authorization", "Bearer \(readers[0])")]).status == 200)
            stalled.removeAll()
        }
    }

    /// Item 8: 53100 (disk full) and 25006 (read-only) answered 500 without `Retry-After`.
    @Test func serverTroubleIsA503WithRetryAfter() {
        for state in ["53100", "53200", "53300", "25006", "58030"] {
            let error = DatabaseError(.query, sqlState: state, message: "could not extend file").appError
            #expect(error.status == .serviceUnavailable, "\(state)")
            #expect(error.retryAfter != nil, "\(state)")
        }
        #expect(DatabaseError(.query, sqlState: "23514", message: "check").appError.status == .unprocessableContent)
    }

    /// Item 8: a repeating failure is logged once per interval with a count, not once per request.
    @Test func repeatingFailuresAreLoggedOncePerInterval() {
        let lines = CapturedLines()
        let logger = Logger(label: "test") { _ in CapturingLogHandler(lines: lines) }
        let log = RepeatingLog(interval: 0.3)
        for _ in 0..<1000 { log.log(logger, .error, "disk full", key: "53100", metadata: ["statement": "INSERT ..."]) }
        log.log(logger, .error, "other", key: "other")
        #expect(lines.all == ["disk full", "other"])
        usleep(350_000)
        log.log(logger, .error, "disk full", key: "53100")
        #expect(lines.all.last == "disk full repeated=999 more in the last 0 s")
    }

    /// Item 8: after a read-only spell the connections stayed broken until their sessions were killed by hand.
    /// Here a failover brings Soot's sessions back read-only (the database's default, as a standby would);
    /// writes get 503 with `Retry-After`, reads go on, and once the database takes writes again Soot writes
    /// again by itself: a connection that met 25006 is replaced, not reused.
    @Test func aReadOnlySpellIsA503AndSootRecoversByItself() throws {
        try withApp { app in
            let setup = try HardeningTests.setUp(app)
            let database = try #require(app.url.split(separator: " ").first { $0.hasPrefix("dbname=") }.map { String($0.dropFirst(7)) })
            let admin = try DatabaseConnection(url: TestDatabase.cluster.connectionURL(database: "postgres"))
            defer { admin.close() }
            var index = 0
            func post() throws -> RawResponse {
                index += 1
                let body: JSONValue = ["timestamp": .string("2026-11-04T10:00:\(String(format: "%02d", index % 60))+00:00"), "run_id": .string(setup.run),
                                       "duration": 1, "emissions_sum": 0.0001, "emissions_rate": 0.0001, "cpu_power": 10, "gpu_power": 0,
                                       "ram_power": 3, "cpu_energy": 0.0001, "gpu_energy": 0, "ram_energy": 0.00001, "energy_consumed": 0.00011]
                return try app.send("POST", "/emissions", headers: [("x-api-token", setup.projectToken), ("Content-Type", "application/json")],
                                    body: body.bytes)
            }
            #expect(try post().status == 201)
            try admin.execute("ALTER DATABASE \"\(database)\" SET default_transaction_read_only = on")
            try admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = \(database) AND pid <> pg_backend_pid()")
            var spell: [RawResponse] = []
            for _ in 0..<8 {
                spell.append(try post())
                usleep(100_000)
            }
            #expect(spell.allSatisfy { $0.status == 503 }, "\(spell.map(\.status))")
            #expect(spell.last?.header("Retry-After") != nil)
            let rename = try app.api("PATCH", "/api/v1/projects/\(setup.project)", token: setup.owner, json: ["description": "x"])
            #expect(rename.status == 503)
            #expect(try app.api("GET", "/api/v1/projects/\(setup.project)", token: setup.owner).status == 200)
            try admin.execute("ALTER DATABASE \"\(database)\" RESET default_transaction_read_only")
            // No session is killed by hand: Soot finds its way back.
            var after: [Int] = []
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                after.append(try post().status)
                if after.last == 201 { break }
                usleep(100_000)
            }
            #expect(after.last == 201, "\(after)")
            #expect(try app.api("PATCH", "/api/v1/projects/\(setup.project)", token: setup.owner, json: ["description": "y"]).status == 200)
        }
    }

    /// Item 10: users are global by email, and adding a member by email created the account and handed its password
    /// to whoever added it, or reused an existing account silently. Organization B's owner added newhire@a.example,
    /// kept the password, and read A's runs once A's owner added the same email. Now adding makes an invitation.
    @Test func nobodyJoinsAnOrganizationWithoutAcceptingItsInvitation() throws {
        try withApp { app in
            let a = try HardeningTests.setUp(app, name: "Alpha")
            let b = try HardeningTests.setUp(app, name: "Beta")
            func secret(_ answer: (status: Int, body: JSONValue)) -> String {
                String(answer.body["link"]?.stringValue?.split(separator: "/").last ?? "")
            }
            // B invites A's future hire; the answer holds a link, no password, and no account exists yet.
            let fromB = try app.api("POST", "/api/v1/organizations/\(b.organization)/members", token: b.owner,
                                    json: ["email": "newhire@a.example", "role": "member"])
            #expect(fromB.status == 201)
            #expect(fromB.body["temporary_password"] == nil && fromB.body["status"] == "pending")
            #expect(try app.pool.query("SELECT count(*) AS n FROM users WHERE email = 'newhire@a.example'").first!.decode("n", as: Int.self) == 0)
            // B takes the account for itself through its own link, with a password it chose.
            var mallory = Browser(app: app)
            let pagePath = Store.invitationPath(secret(fromB))
            let page = try mallory.get(pagePath)
            let csrf = try #require(Browser.csrf(in: page.text))
            #expect(try mallory.post(pagePath + "/account", form: [("csrf_token", csrf), ("password", "mallory's password"),
                                                                   ("password_again", "mallory's password")]).status == 303)
            // A invites the same email: the answer looks exactly as for an email nobody has.
            let fromA = try app.api("POST", "/api/v1/organizations/\(a.organization)/members", token: a.owner,
                                    json: ["email": "newhire@a.example", "role": "member"])
            let fresh = try app.api("POST", "/api/v1/organizations/\(a.organization)/members", token: a.owner,
                                    json: ["email": "nobody-yet@a.example", "role": "member"])
            #expect(fromA.status == fresh.status)
            #expect(fromA.body.objectKeys == fresh.body.objectKeys)
            // Nothing joined A: B, signed in as newhire, sees none of A, and cannot use its own link again.
            #expect(try mallory.get("/o/alpha-org").status == 404)
            #expect(try mallory.get(pagePath).status == 404)
            let aMembers = try app.pool.query("""
                SELECT count(*) AS n FROM organization_members m JOIN users u ON u.id = m.user_id
                WHERE m.organization_id = \(UUID(uuidString: a.organization)!) AND u.email = 'newhire@a.example'
                """).first!.decode("n", as: Int.self)
            #expect(aMembers == 0)
            // Without a session as that email, A's link cannot make an account that exists already.
            var stranger = Browser(app: app)
            let aPath = Store.invitationPath(secret(fromA))
            let aPage = try stranger.get(aPath)
            let aCSRF = try #require(Browser.csrf(in: aPage.text))
            let taken = try stranger.post(aPath + "/account", form: [("csrf_token", aCSRF), ("password", "another password"),
                                                                    ("password_again", "another password")])
            #expect(taken.status == 409)
            // Probing whether an email has an account this way is throttled like guessing its password.
            var probes: [Int] = []
            for _ in 0..<6 {
                let page = try stranger.get(aPath)
                let token = try #require(Browser.csrf(in: page.text))
                probes.append(try stranger.post(aPath + "/account", form: [("csrf_token", token), ("password", "another password"),
                                                                           ("password_again", "another password")]).status)
            }
            #expect(probes.contains(429), "\(probes)")
            try app.pool.query("DELETE FROM login_failures")
            // Someone signed in with another email cannot accept it either.
            let other = try makeUser(app.pool, email: "other@a.example")
            let wrong = try app.api("POST", "/api/v1/invitations/accept", token: other.token, json: ["secret": .string(secret(fromA))])
            #expect(wrong.status == 403)
            // The operator resets the account (ending B's sessions); the real hire logs in and accepts A's link.
            let (password, ended) = try app.pool.transaction { try Accounts.resetPassword($0, email: "newhire@a.example", password: nil) }
            #expect(ended.sessions >= 1)
            #expect(try mallory.get("/").status == 303)
            var hire = Browser(app: app)
            #expect(try hire.logIn(email: "newhire@a.example", password: try #require(password), next: aPath).status == 303)
            let invitation = try hire.get(aPath)
            #expect(invitation.text.contains("Accept and join"))
            let accept = try hire.post(aPath, form: [("csrf_token", try #require(Browser.csrf(in: invitation.text)))])
            #expect(accept.status == 303 && accept.header("Location") == "/o/alpha-org")
            // The operator gave a password: the hire chooses their own before anything else, then sees A.
            #expect(try hire.get("/o/alpha-org").header("Location") == "/account#password")
            let account = try hire.get("/account")
            let chosen = try hire.post("/account/password", form: [("csrf_token", try #require(Browser.csrf(in: account.text))),
                                                                   ("current_password", try #require(password)),
                                                                   ("new_password", "the hire's own password"),
                                                                   ("new_password_again", "the hire's own password")])
            #expect(chosen.status == 303 && chosen.header("Location") == "/")
            #expect(try hire.get("/o/alpha-org").status == 200)
            // Used once.
            #expect(try app.api("POST", "/api/v1/invitations/accept", token: other.token, json: ["secret": .string(secret(fromA))]).status == 404)
        }
    }

    /// Invitations expire and can be withdrawn; both answer like an unknown link.
    @Test func invitationsExpireAndCanBeWithdrawn() throws {
        try withApp { app in
            let setup = try HardeningTests.setUp(app)
            let person = try makeUser(app.pool, email: "late@example.com")
            let invited = try app.api("POST", "/api/v1/organizations/\(setup.organization)/invitations", token: setup.owner,
                                      json: ["email": "late@example.com", "role": "admin", "team_id": .string(setup.team)])
            #expect(invited.status == 201)
            let listed = try app.api("GET", "/api/v1/organizations/\(setup.organization)/invitations", token: setup.owner)
            #expect(listed.body["data"]?.arrayValue.count == 1)
            #expect(listed.body["data"]?.arrayValue.first?["link"] == nil)
            let secret = String(invited.body["link"]!.stringValue!.split(separator: "/").last!)
            try app.pool.query("UPDATE invitations SET expires_at = now() - interval '1 second'")
            #expect(try app.api("POST", "/api/v1/invitations/accept", token: person.token, json: ["secret": .string(secret)]).status == 404)
            #expect(try app.send("GET", Store.invitationPath(secret)).status == 404)
            try app.pool.query("UPDATE invitations SET expires_at = now() + interval '1 day'")
            let id = try #require(invited.body["id"]?.stringValue)
            #expect(try app.api("DELETE", "/api/v1/organizations/\(setup.organization)/invitations/\(id)", token: setup.owner).status == 204)
            #expect(try app.api("POST", "/api/v1/invitations/accept", token: person.token, json: ["secret": .string(secret)]).status == 404)
            // A fresh one, accepted: the organization with the role, and the team.
            let again = try app.api("POST", "/api/v1/organizations/\(setup.organization)/invitations", token: setup.owner,
                                    json: ["email": "LATE@example.com", "role": "admin", "team_id": .string(setup.team)])
            let accepted = try app.api("POST", "/api/v1/invitations/accept", token: person.token,
                                       json: ["secret": .string(String(again.body["link"]!.stringValue!.split(separator: "/").last!))])
            #expect(accepted.status == 200 && accepted.body["role"] == "admin")
            #expect(try app.api("GET", "/api/v1/teams/\(setup.team)/members", token: setup.owner).body.items.count == 2)
            // Invitation links are secrets: not in the access log.
            #expect(Redaction.path("/invitations/\(secret)") == "/invitations/[redacted]")
        }
    }

    /// Item 4: the import route read up to 64 MiB before it looked at the credential. The credential, project and
    /// scope are now checked from the head: a refusal comes at once, without the body, and the connection closes.
    @Test func importsAreRefusedFromTheirHeadBeforeTheBody() throws {
        try withApp { app in
            let setup = try HardeningTests.setUp(app)
            let other = try HardeningTests.setUp(app, name: "Other")
            for (headers, status) in [("", 401), ("Authorization: Bearer soot_pat_notarealtokenatallnotarealtoken\r\n", 401),
                                      ("x-api-token: \(setup.readOnlyProjectToken)\r\n", 403),
                                      ("x-api-token: \(other.projectToken)\r\n", 404),
                                      ("Authorization: Bearer \(setup.owner)\r\n", -1)] {
                let path = status == -1 ? "/api/v1/projects/\(setup.project)/import?experiment_id=\(UUID().uuidString)"
                    : "/api/v1/projects/\(setup.project)/import"
                let connection = try RawConnection(port: app.port)
                let start = Date()
                try connection.send("POST \(path) HTTP/1.1\r\nHost: x\r\n\(headers)Content-Type: text/csv\r\nContent-Length: 63000000\r\n\r\ntimestamp,")
                let answer = try connection.readResponse(timeout: 5)
                #expect(answer.status == (status == -1 ? 404 : status), "\(headers)")
                #expect(Date().timeIntervalSince(start) < 2)
                #expect(connection.waitForClose())
            }
            // The page's form: no session, no body read either.
            let form = try RawConnection(port: app.port)
            try form.send("POST /o/hardening-org/hardening-team/hardening-project/import HTTP/1.1\r\nHost: x\r\n"
                          + "Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 63000000\r\n\r\n--x")
            #expect(try form.readResponse(timeout: 5).status == 401)
            // Allowed, the file streams in and is imported as usual.
            let file = HardeningTests.emissionsCSV(runs: 20, rows: 50)
            let imported = try app.send("POST", "/api/v1/projects/\(setup.project)/import",
                                        headers: [("Authorization", "Bearer \(setup.owner)"), ("Content-Type", "text/csv")], body: file)
            #expect(imported.status == 201)
            #expect(JSONValue.parse(imported.body)?["samples_imported"] == 1000)
        }
    }

    /// Item 2: `PATCH` with `"name": null` was taken as "unchanged"; a null for a field that cannot be null is a 422.
    /// And the CodeCarbon-compatible routes are described too, at `/openapi.json` and `/api/openapi.json`.
    @Test func nullsAreRefusedAndBothAPIsAreDocumented() throws {
        try withApp { app in
            let setup = try HardeningTests.setUp(app)
            for (path, field) in [("/api/v1/projects/\(setup.project)", "name"), ("/api/v1/projects/\(setup.project)", "description"),
                                  ("/api/v1/projects/\(setup.project)", "is_public"), ("/api/v1/teams/\(setup.team)", "name"),
                                  ("/api/v1/organizations/\(setup.organization)", "name"), ("/api/v1/experiments/\(setup.experiment)", "name")] {
                let answer = try app.api("PATCH", path, token: setup.owner, json: .object([field: .null]))
                #expect(answer.status == 422, "\(path) \(field)")
                #expect(answer.body["error"]?["field"]?.stringValue == field)
            }
            for path in ["/openapi.json", "/api/openapi.json"] {
                let document = try app.api("GET", path, token: nil).body
                let paths = document["paths"]?.objectKeys ?? []
                for route in ["/runs", "/api/runs", "/emissions", "/api/emissions", "/runs/{run_id}/emissions", "/api/runs/{run_id}/emissions",
                              "/organizations/{organization_id}/sums", "/lastrun/project/{project_id}"] {
                    #expect(paths.contains(route), "\(path) lacks \(route)")
                }
            }
            let v1 = try app.api("GET", "/api/v1/openapi.json", token: nil).body
            let offset = v1["paths"]?["/api/v1/projects/{project_id}/experiments"]?["get"]?["parameters"]?.arrayValue
                .first { $0["name"] == "offset" }?["schema"]?["maximum"]
            #expect(offset == 10_000_000)
        }
    }
}

/// Collects log messages (and their metadata) as lines, for tests of what is logged.
final class CapturedLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

struct CapturingLogHandler: LogHandler {
    let lines: CapturedLines
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let extra = (event.metadata ?? [:]).filter { $0.key == "repeated" }.map { " \($0.key)=\($0.value)" }.joined()
        lines.append("\(event.message)\(extra)")
    }
}

extension JSONValue {
    /// The keys of an object, sorted; empty for anything else.
    var objectKeys: [String] {
        if case .object(let members) = self { return members.keys.sorted() }
        return []
    }
}
