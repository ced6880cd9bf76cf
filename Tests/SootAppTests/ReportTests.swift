import Emissions
import Foundation
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

/// CSV and JSON exports against the real server and PostgreSQL, and imports of files written by the real
/// `codecarbon` client.
@Suite struct ReportTests {
    /// Runs with samples at chosen times, through the public API.
    func postRun(_ app: AppFixture, _ agent: Agent, experimentID: String? = nil, samples: [(Date, Double, Double)]) throws -> String {
        let first = samples.map(\.0).min()!
        let report = try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: [
            "experiment_id": .string(experimentID ?? agent.experimentID), "started_at": .string(ISOTime.format(first.addingTimeInterval(-60))),
            "cpu_model": "=cmd|' /C calc'!A0", "country_name": "France",
            "samples": .array(samples.enumerated().map { index, sample in
                ["id": .string("s\(index)"), "timestamp": .string(ISOTime.format(sample.0)), "duration_seconds": 60,
                 "energy_kwh": .number(sample.1), "emissions_kg": .number(sample.2), "cpu_energy_kwh": .number(sample.1 * 0.75),
                 "ram_energy_kwh": .number(sample.1 * 0.25)]
            }),
        ])
        try #require(report.status == 201, "\(report.body)")
        return report.body["id"]!.stringValue!
    }

    func csv(_ response: RawResponse) throws -> (header: [String], rows: [[String: String]]) {
        let records = try CSVReader.records(response.body)
        let header = try #require(records.first).fields
        return (header, records.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0.fields)) })
    }

    @Test func hostileNamesAreQuotedAndNeutralised() throws {
        try withApp { app in
            let hostile = "=HYPERLINK(\"http://evil\",\"x\"), \"quoted\"\nline"
            let agent = try Agent(app, organization: "+Org, \"Inc\"", project: "@SUM(A1)")
            let experiment = try app.api("POST", "/api/v1/projects/\(agent.projectID)/experiments", token: agent.personalToken,
                                         json: ["name": .string(hostile)])
            try #require(experiment.status == 201, "\(experiment.body)")
            let experimentID = experiment.body["id"]!.stringValue!
            _ = try postRun(app, agent, experimentID: experimentID, samples: [(Date().addingTimeInterval(-3600), 0.5, 0.1)])
            _ = try postRun(app, agent, samples: [(Date().addingTimeInterval(-7200), 0.25, 0.05)])

            let response = try app.send("GET", "/api/v1/reports/runs.csv?organization=\(agent.organizationID)&range=all",
                                        headers: [("Authorization", "Bearer \(agent.personalToken)")])
            #expect(response.status == 200)
            #expect(response.header("Content-Type")?.hasPrefix("text/csv; charset=utf-8") == true)
            #expect(response.header("Transfer-Encoding") == "chunked")
            let disposition = try #require(response.header("Content-Disposition"))
            #expect(disposition == "attachment; filename=\"soot-organization-org-inc-runs-all-time.csv\"")
            // Records end with CRLF; the raw bytes carry the quoted, neutralised names.
            let text = String(decoding: response.body, as: UTF8.self)
            #expect(text.hasSuffix("\r\n"))
            #expect(text.contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\"), \"\"quoted\"\"\nline\""))
            #expect(text.contains(",\"'+Org, \"\"Inc\"\"\","))
            #expect(text.contains(",\"'@SUM(A1)\","))
            #expect(text.contains(",\"'=cmd|' /C calc'!A0\","))
            let (header, rows) = try csv(response)
            #expect(header.contains("energy_kwh") && header.contains("emissions_kg_co2e") && header.contains("duration_s"))
            #expect(rows.count == 2)
            // Every text cell reads back as the stored name behind one apostrophe.
            #expect(Set(rows.map { $0["experiment"]! }) == ["'" + hostile, "Default"])
            #expect(rows.allSatisfy { $0["organization"] == "'+Org, \"Inc\"" && $0["project"] == "'@SUM(A1)" })
            // Python's csv module reads the same cells (an independent RFC 4180 reader).
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("soot-export-\(UUID().uuidString).csv")
            try Data(response.body).write(to: file)
            defer { try? FileManager.default.removeItem(at: file) }
            let python = try Shell.run("/usr/bin/env", ["python3", "-c", """
                import csv, json, sys
                rows = list(csv.DictReader(open(sys.argv[1], newline='', encoding='utf-8')))
                print(json.dumps(sorted(r['experiment'] for r in rows)))
                """, file.path])
            #expect(python.status == 0, "\(python.errors)")
            #expect(JSONValue.parse(Array(python.output.utf8)) == .array([.string("'" + hostile), .string("Default")]))

            // The JSON export: the same rows, names exactly as stored (no apostrophe), numbers as numbers.
            let json = try app.api("GET", "/api/v1/reports/runs.json?organization=\(agent.organizationID)&range=all", token: agent.personalToken)
            #expect(json.status == 200)
            let objects = json.body.arrayValue
            try #require(!objects.isEmpty)
            #expect(Set(objects.compactMap { $0["experiment"]?.stringValue }) == [hostile, "Default"])
            #expect(objects.compactMap { $0["energy_kwh"]?.numberValue }.sorted() == [0.25, 0.5])
        }
    }

    /// The CSV exports (read with `COPY` and rewritten on bytes) carry exactly the JSON exports' values (read row by
    /// row, an independent path), cell by cell: hostile run metadata in every text column (a formula start of each
    /// kind, quotes, commas, non-ASCII, an empty string), NULLs, negative numbers, booleans and timestamps.
    @Test func sumsOfDecimalsReadAsDecimalsInEveryExport() throws {
        try withApp { app in
            let agent = try Agent(app)
            // 0.1 + 0.2 is 0.30000000000000004 in binary; ten samples of 0.1 sum to 0.9999999999999999.
            let now = Date().addingTimeInterval(-3_600)
            var samples: [(Date, Double, Double)] = []
            for index in 0..<10 {
                let emissions: Double = 0.2 + 0.01 * Double(index % 3 + 1)
                samples.append((now.addingTimeInterval(Double(index) * 60), 0.1, emissions))
            }
            let runID = try postRun(app, agent, samples: samples)
            let stored: Double = try app.pool.query("SELECT energy_kwh FROM runs WHERE id = \(UUID(uuidString: runID)!)").first!.decode("energy_kwh")
            #expect(stored != 1, "the stored sum carries binary noise: \(stored)")
            let query = "organization=\(agent.organizationID)&range=all"
            let runs = try csv(try app.send("GET", "/api/v1/reports/runs.csv?\(query)", headers: [("Authorization", "Bearer \(agent.personalToken)")]))
            let row = try #require(runs.rows.first { $0["run_id"] == runID })
            #expect(row["energy_kwh"] == "1")
            #expect(row["cpu_energy_kwh"] == "0.75" && row["ram_energy_kwh"] == "0.25")
            let json = try app.api("GET", "/api/v1/reports/runs.json?\(query)", token: agent.personalToken)
            let object = try #require(json.body.arrayValue.first { $0["run_id"]?.stringValue == runID })
            #expect(object["energy_kwh"] == 1)
            let summary = try app.send("GET", "/api/v1/reports/summary.csv?\(query)&by=team", headers: [("Authorization", "Bearer \(agent.personalToken)")])
            let summaryRow = try #require(try csv(summary).rows.first)
            #expect(summaryRow["energy_kwh"] == "1", "\(summaryRow)")
            #expect(!String(decoding: summary.body, as: UTF8.self).contains("0000000000"))
            let run = try app.send("GET", "/api/v1/runs/\(runID)", headers: [("Authorization", "Bearer \(agent.personalToken)")])
            #expect(JSONValue.parse(run.body)?["energy_kwh"] == 1)
            #expect(!String(decoding: run.body, as: UTF8.self).contains("0.9999999"))
        }
    }

    @Test func csvCellsEqualTheJSONExportsValues() throws {
        try withApp { app in
            let agent = try Agent(app)
            let now = Date()
            let hostile = try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: [
                "experiment_id": .string(agent.experimentID), "started_at": .string(ISOTime.format(now.addingTimeInterval(-7200))),
                "cpu_model": "\tTabbed", "gpu_model": "@gpu", "os": "-rm -rf /", "python_version": "+3.11",
                "codecarbon_version": "=1+1", "country_name": "C\u{F4}te d'Ivoire, \"CI\"", "country_iso_code": "CIV",
                "region": "", "cloud_provider": "\"quoted\"", "cloud_region": "a,b", "longitude": -122.4194, "latitude": 37.7749,
                "cpu_count": 64, "gpu_count": 0, "ram_total_size": 251.5,
                "samples": [
                    ["id": "=key", "timestamp": .string(ISOTime.format(now.addingTimeInterval(-3600.5))), "duration_seconds": 60,
                     "energy_kwh": 0.1, "emissions_kg": 0.03, "cpu_power_w": 42.5, "cpu_utilization_percent": 37.5],
                    ["id": "plain key", "timestamp": .string(ISOTime.format(now.addingTimeInterval(-1800))), "duration_seconds": 1e-7,
                     "energy_kwh": 1e-12, "emissions_kg": 0],
                ],
            ])
            try #require(hostile.status == 201, "\(hostile.body)")
            let bare = try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: [
                "experiment_id": .string(agent.experimentID), "started_at": .string(ISOTime.format(now.addingTimeInterval(-600))),
            ])
            try #require(bare.status == 201, "\(bare.body)")

            func compare(_ path: String, key: String) throws -> Int {
                let csvResponse = try app.send("GET", path, headers: [("Authorization", "Bearer \(agent.personalToken)")])
                #expect(csvResponse.status == 200)
                let (header, rows) = try csv(csvResponse)
                let json = try app.api("GET", path.replacingOccurrences(of: ".csv", with: ".json"), token: agent.personalToken)
                let objects = json.body.arrayValue
            try #require(!objects.isEmpty)
                #expect(rows.count == objects.count)
                var compared = 0
                for object in objects {
                    let id = try #require(object[key]?.stringValue)
                    let row = try #require(rows.first { $0[key] == id }, "no CSV row for \(id)")
                    if case .object(let members) = object { #expect(header.count == members.count) }
                    for name in header {
                        let cell = try #require(row[name])
                        switch object[name] {
                        case .null?, nil:
                            #expect(cell == "", "\(name): \(cell)")
                        case .string(let text)?:
                            let formula = text.first.map { "=+-@\t\r".contains($0) } ?? false
                            #expect(cell == (formula ? "'" + text : text), "\(name): \(cell) against \(text)")
                        case .number(let number)?:
                            #expect(Double(cell) == number, "\(name): \(cell) against \(number)")
                        case .bool(let flag)?:
                            #expect(cell == (flag ? "true" : "false"), "\(name)")
                        default:
                            Issue.record("\(name): unexpected \(String(describing: object[name]))")
                        }
                        compared += 1
                    }
                }
                return compared
            }
            let organization = "/api/v1/reports/runs.csv?organization=\(agent.organizationID)&range=all"
            #expect(try compare(organization, key: "run_id") == 2 * Reports.runColumns.count)
            let hostileID = hostile.body["id"]!.stringValue!
            #expect(try compare("/api/v1/runs/\(hostileID)/samples.csv", key: "sample_id") == 2 * Reports.sampleColumns.count)
            // A range: its from/to binds (as the teams a person sees, a uuid[] bind) reach COPY as settings.
            let from = UTCDay.string(now.timeIntervalSince1970 - 2 * 86_400), to = UTCDay.string(now.timeIntervalSince1970)
            #expect(try compare("/api/v1/reports/runs.csv?organization=\(agent.organizationID)&from=\(from)&to=\(to)", key: "run_id") == 2 * Reports.runColumns.count)
        }
    }

    @Test func reportRowsAddUpToTheDashboardForTheSameRange() throws {
        try withApp { app in
            let agent = try Agent(app)
            let day = 86_400.0
            let midnight = (Date().timeIntervalSince1970 / day).rounded(.down) * day
            func at(_ daysAgo: Double, _ hour: Double) -> Date { Date(timeIntervalSince1970: midnight - daysAgo * day + hour * 3600) }
            // Inside the range, crossing its start, crossing its end, and outside it.
            let inside = try postRun(app, agent, samples: [(at(5, 10), 1.0, 0.2), (at(5, 11), 2.0, 0.4)])
            let acrossStart = try postRun(app, agent, samples: [(at(8, 23.5), 4.0, 0.8), (at(7, 0.5), 8.0, 1.6), (at(7, 1), 0.5, 0.125)])
            let acrossEnd = try postRun(app, agent, samples: [(at(4, 23.9), 16.0, 3.2), (at(3, 0.1), 32.0, 6.4)])
            _ = try postRun(app, agent, samples: [(at(20, 12), 64.0, 12.8)])
            let from = UTCDay.string(at(7, 0).timeIntervalSince1970), to = UTCDay.string(at(4, 0).timeIntervalSince1970)

            let response = try app.send("GET", "/api/v1/reports/runs.csv?organization=\(agent.organizationID)&from=\(from)&to=\(to)",
                                        headers: [("Authorization", "Bearer \(agent.personalToken)")])
            #expect(response.status == 200)
            let rows = try csv(response).rows
            #expect(Set(rows.map { $0["run_id"]! }) == [inside, acrossStart, acrossEnd])
            func sum(_ column: String) -> Double { rows.reduce(0) { $0 + Double($1[column]!)! } }
            let partial = Dictionary(uniqueKeysWithValues: rows.map { ($0["run_id"]!, $0["partial"]!) })
            #expect(partial == [inside: "false", acrossStart: "true", acrossEnd: "true"])

            // The dashboard's figures for the same range, from the daily rollups.
            let dashboard = try app.pool.query("""
                SELECT sum(energy_kwh) AS energy, sum(emissions_kg) AS emissions, sum(duration_seconds) AS duration, sum(cpu_energy_kwh) AS cpu
                FROM experiment_days WHERE organization_id = \(UUID(uuidString: agent.organizationID)!) AND day BETWEEN \(from)::date AND \(to)::date
                """).first!
            #expect(abs(sum("energy_kwh") - (try dashboard.decode("energy", as: Double.self))) < 1e-9)
            #expect(abs(sum("energy_kwh") - 27.5) < 1e-9)  // 1 + 2 + 8 + 0.5 + 16
            #expect(abs(sum("emissions_kg_co2e") - (try dashboard.decode("emissions", as: Double.self))) < 1e-9)
            #expect(abs(sum("duration_s") - (try dashboard.decode("duration", as: Double.self))) < 1e-9)
            #expect(abs(sum("cpu_energy_kwh") - (try dashboard.decode("cpu", as: Double.self))) < 1e-9)
            // And the page itself shows that total.
            var browser = Browser(app: app)
            try app.pool.query("UPDATE users SET password_hash = \(PasswordHasher.hash("a long password 123", iterations: 1000)), must_change_password = false")
            _ = try browser.logIn(email: Agent.email("Acme"), password: "a long password 123")
            let slug = try app.pool.query("SELECT slug FROM organizations").first!.decode("slug", as: String.self)
            let page = try browser.get("/o/\(slug)?from=\(from)&to=\(to)")
            let energy = Formatting.energy(kilowattHours: sum("energy_kwh"))
            #expect(page.text.contains("id=\"total-energy\"><div class=\"value\">\(energy.value) <small>\(energy.unit)</small>"))
            // The page links to the CSV of exactly what it shows.
            #expect(page.text.contains("/api/v1/reports/runs.csv?organization=\(agent.organizationID)&amp;from=\(from)&amp;to=\(to)"))

            // The summary by project over the same range: same totals, plus the equivalents.
            let summary = try app.send("GET", "/api/v1/reports/summary.csv?organization=\(agent.organizationID)&by=project&from=\(from)&to=\(to)",
                                       headers: [("Authorization", "Bearer \(agent.personalToken)")])
            let summaryRows = try csv(summary).rows
            #expect(summaryRows.count == 1)
            let emissions = Double(summaryRows[0]["emissions_kg_co2e"]!)!
            #expect(abs(Double(summaryRows[0]["energy_kwh"]!)! - 27.5) < 1e-9)
            // Exports write ten significant digits (DecimalText): equal to a part in 10⁹.
            #expect(abs(Double(summaryRows[0]["car_miles"]!)! - emissions / 0.393) <= 1e-9 * emissions / 0.393)

            // A run's samples, all of them, in time order.
            let samples = try app.send("GET", "/api/v1/runs/\(acrossStart)/samples.csv", headers: [("Authorization", "Bearer \(agent.personalToken)")])
            let sampleRows = try csv(samples).rows
            #expect(sampleRows.map { Double($0["energy_kwh"]!)! } == [4.0, 8.0, 0.5])
            #expect(sampleRows.allSatisfy { $0["timestamp"]!.hasSuffix("+00:00") && $0["timestamp"]!.contains("T") })
        }
    }

    @Test func oneOrganizationCannotExportAnothers() throws {
        try withApp { app in
            let a = try Agent(app, organization: "Alpha")
            let b = try Agent(app, organization: "Beta")
            _ = try postRun(app, a, samples: [(Date().addingTimeInterval(-600), 1, 0.2)])
            let runID = try app.pool.query("SELECT id FROM runs").first!.decode("id", as: UUID.self).lowercaseText
            for path in ["/api/v1/reports/runs.csv?organization=\(a.organizationID)", "/api/v1/reports/summary.json?organization=\(a.organizationID)",
                         "/api/v1/reports/runs.json?project=\(a.projectID)", "/api/v1/reports/runs.csv?experiment=\(a.experimentID)",
                         "/api/v1/runs/\(runID)/samples.csv"] {
                #expect(try app.send("GET", path, headers: [("Authorization", "Bearer \(b.personalToken)")]).status == 404, "\(path)")
                #expect(try app.send("GET", path, headers: [("x-api-token", b.projectToken)]).status != 200, "\(path)")
                #expect(try app.send("GET", path).status == 401, "\(path)")
            }
            // A's own project token may read its project.
            let own = try app.send("GET", "/api/v1/reports/runs.csv?project=\(a.projectID)&range=all", headers: [("x-api-token", a.projectToken)])
            #expect(own.status == 200)
            #expect(try csv(own).rows.count == 1)
            #expect(try app.send("GET", "/api/v1/reports/runs.csv?range=all", headers: [("Authorization", "Bearer \(a.personalToken)")]).status == 422)
        }
    }

    // MARK: Import

    /// An emissions.csv written by the real codecarbon client, offline (three runs, one flushed halfway).
    static let codeCarbonFile: Result<[UInt8], Error> = Result {
        let venv = try CodeCarbonClient.venv.get()
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("soot-offline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: output) }
        let script = TestDatabase.repositoryRoot.appendingPathComponent("Tests/CodeCarbon/offline.py").path
        let result = try Shell.run(venv + "/bin/python", [script, output.path])
        guard result.status == 0 else { throw NSError(domain: "offline.py", code: Int(result.status), userInfo: [NSLocalizedDescriptionKey: result.errors]) }
        return [UInt8](try Data(contentsOf: output.appendingPathComponent("emissions.csv")))
    }

    func importFile(_ app: AppFixture, _ agent: Agent, _ bytes: [UInt8], query: String = "") throws -> (status: Int, body: JSONValue) {
        let response = try app.send("POST", "/api/v1/projects/\(agent.projectID)/import\(query)",
                                    headers: [("Authorization", "Bearer \(agent.personalToken)"), ("Content-Type", "text/csv")], body: bytes)
        return (response.status, JSONValue.parse(response.body) ?? .null)
    }

    @Test func importsTheRealClientsFileOnceAndExportsItBack() throws {
        let file = try Self.codeCarbonFile.get()
        let records = try CSVReader.records(file)
        let header = records[0].fields
        let rows = records.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, $0.fields)) }
        // What the file says per run: its last (cumulative) row.
        var expected: [String: [String: String]] = [:]
        for row in rows { expected[row["run_id"]!] = row }
        #expect(expected.count == 3 && rows.count == 4)
        try withApp { app in
            let agent = try Agent(app)
            let first = try importFile(app, agent, file)
            #expect(first.status == 201, "\(first.body)")
            #expect(first.body["runs_created"] == 3 && first.body["samples_imported"] == 4 && first.body["refused"] == .array([]))
            // Twice: nothing more.
            let again = try importFile(app, agent, file)
            #expect(again.status == 201)
            #expect(again.body["samples_imported"] == 0 && again.body["duplicates"] == 4 && again.body["runs_created"] == 0)
            #expect(try app.pool.query("SELECT count(*) AS n FROM emission_samples").first!.decode("n", as: Int.self) == 4)

            // Round trip: the report gives back each run's figures as the file had them.
            let export = try app.send("GET", "/api/v1/reports/runs.csv?organization=\(agent.organizationID)&range=all",
                                      headers: [("Authorization", "Bearer \(agent.personalToken)")])
            let exported = try csv(export).rows
            #expect(exported.count == 3)
            let keys = Dictionary(uniqueKeysWithValues: try app.pool.query("SELECT id, client_key FROM runs").rows.map {
                (try $0.decode("id", as: UUID.self).lowercaseText, try $0.decode("client_key", as: String.self))
            })
            for row in exported {
                let source = try #require(expected[keys[row["run_id"]!]!])
                for (mine, theirs) in [("energy_kwh", "energy_consumed"), ("emissions_kg_co2e", "emissions"), ("duration_s", "duration"),
                                       ("cpu_energy_kwh", "cpu_energy"), ("ram_energy_kwh", "ram_energy")] {
                    let a = Double(row[mine]!)!, b = Double(source[theirs]!)!
                    // Exports write ten significant digits (DecimalText), so equal to a part in 10⁹.
                    #expect(abs(a - b) <= 1e-9 * max(1e-12, abs(b)), "\(mine): \(a) vs \(b)")
                }
                #expect(row["cpu_model"] == source["cpu_model"] && row["codecarbon_version"] == source["codecarbon_version"])
                #expect(row["country_iso_code"] == source["country_iso_code"])
                // The experiment is the client's project_name (quoted, and neutralised since it starts with... no: it does not).
                #expect(row["experiment"] == source["project_name"])
                #expect(row["source"] == "import")
            }

            // A later file that repeats the earlier rows and adds one extends the run, counting only what is new.
            var later = String(decoding: file, as: UTF8.self)
            let last = try #require(rows.last)
            let extra = records.last!.fields.enumerated().map { index, value -> String in
                switch header[index] {
                case "timestamp": return ISOTime.format(Date()).replacingOccurrences(of: "Z", with: "")
                case "duration": return String(Double(last["duration"]!)! + 10)
                case "emissions": return String(Double(last["emissions"]!)! * 3)
                case "energy_consumed": return String(Double(last["energy_consumed"]!)! * 3)
                case "cpu_energy": return String(Double(last["cpu_energy"]!)! * 3)
                case "ram_energy": return String(Double(last["ram_energy"]!)! * 3)
                default: return value.contains(",") || value.contains("\"") ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
                }
            }
            later += extra.joined(separator: ",") + "\n"
            let extended = try importFile(app, agent, Array(later.utf8))
            #expect(extended.status == 201, "\(extended.body)")
            #expect(extended.body["samples_imported"] == 1 && extended.body["duplicates"] == 4 && extended.body["runs_created"] == 0)
            let total = try app.pool.query("SELECT energy_kwh FROM runs WHERE client_key = \(last["run_id"]!)").first!.decode("energy_kwh", as: Double.self)
            #expect(abs(total - Double(last["energy_consumed"]!)! * 3) < 1e-15)
        }
    }

    @Test func importsTheOlderLayoutWithoutTheNewerColumns() throws {
        let file = try Self.codeCarbonFile.get()
        // CodeCarbon 2.x wrote no water, utilisation or ram_used_gb columns: drop them from the real file.
        let newer: Set<String> = ["water_consumed", "cpu_utilization_percent", "gpu_utilization_percent", "ram_utilization_percent",
                                  "ram_used_gb", "wue"]
        let records = try CSVReader.records(file)
        let keep = records[0].fields.enumerated().filter { !newer.contains($0.element) }.map(\.offset)
        var encoder = CSVEncoder()
        for record in records {
            for index in keep { encoder.plain(record.fields[index].contains(",") || record.fields[index].contains("\"")
                ? "\"" + record.fields[index].replacingOccurrences(of: "\"", with: "\"\"") + "\"" : record.fields[index]) }
            encoder.endRow()
        }
        try withApp { app in
            let agent = try Agent(app)
            let result = try importFile(app, agent, encoder.bytes, query: "?experiment_id=\(agent.experimentID)")
            #expect(result.status == 201, "\(result.body)")
            #expect(result.body["runs_created"] == 3)
            // Counted for /metrics once committed.
            let imported = try #require(result.body["samples_imported"]?.numberValue)
            #expect(imported > 0 && app.application.metrics.ingest.samples.value(["imports"]) == imported)
            // All into the chosen experiment.
            #expect(try app.pool.query("SELECT count(DISTINCT experiment_id) AS n FROM runs").first!.decode("n", as: Int.self) == 1)
            #expect(try app.pool.query("SELECT experiment_id FROM runs LIMIT 1").first!.decode("experiment_id", as: UUID.self).lowercaseText == agent.experimentID)
        }
    }

    @Test func badFilesAreReportedRowByRowAndNothingIsHalfImported() throws {
        let file = try Self.codeCarbonFile.get()
        let records = try CSVReader.records(file)
        let header = records[0].fields
        func line(_ fields: [String]) -> String {
            fields.map { $0.contains(",") || $0.contains("\"") ? "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : $0 }.joined(separator: ",")
        }
        var good = records[4].fields
        good[header.firstIndex(of: "run_id")!] = "good-run"
        var badNumber = records[4].fields
        badNumber[header.firstIndex(of: "run_id")!] = "bad-number"
        badNumber[header.firstIndex(of: "energy_consumed")!] = "1,5"
        var negative = records[4].fields
        negative[header.firstIndex(of: "run_id")!] = "negative"
        negative[header.firstIndex(of: "emissions")!] = "-1"
        let text = ([line(header), line(good), line(badNumber), line(Array(good.prefix(5))), line(negative)]).joined(separator: "\r\n") + "\r\n"
        try withApp { app in
            let agent = try Agent(app)
            let refused = try importFile(app, agent, Array(text.utf8))
            #expect(refused.status == 422)
            #expect(refused.body["error"]?["code"] == "invalid_rows")
            let problems = try #require(refused.body["report"]?["refused"]?.arrayValue)
            #expect(problems.map { $0["line"]?.numberValue ?? 0 } == [3, 4, 5])
            #expect(problems[0]["column"] == "energy_consumed" && problems[0]["value"] == "1,5")
            #expect(problems[1]["message"]?.stringValue?.contains("fields where the header has") == true)
            #expect(problems[2]["column"] == "emissions" && problems[2]["value"] == "-1")
            #expect(try app.pool.query("SELECT count(*) AS n FROM runs").first!.decode("n", as: Int.self) == 0)

            // Asked for: the valid rows only.
            let partial = try importFile(app, agent, Array(text.utf8), query: "?valid_only=true")
            #expect(partial.status == 201)
            #expect(partial.body["runs_created"] == 1 && partial.body["refused"]?.arrayValue.count == 3)
            #expect(try app.pool.query("SELECT client_key FROM runs").rows.map { try $0.decode("client_key", as: String.self) } == ["good-run"])

            // Files that are not CSV at all, or not CodeCarbon's.
            let unclosed = try importFile(app, agent, Array("timestamp,run_id,duration,emissions,energy_consumed\n\"2026".utf8))
            #expect(unclosed.status == 422 && unclosed.body["error"]?["message"]?.stringValue?.contains("not closed") == true)
            let foreign = try importFile(app, agent, Array("a,b\n1,2\n".utf8))
            #expect(foreign.status == 422 && foreign.body["error"]?["message"]?.stringValue?.contains("no timestamp column") == true)
            let huge = try app.send("POST", "/api/v1/projects/\(agent.projectID)/import",
                                    headers: [("Authorization", "Bearer \(agent.personalToken)"), ("Content-Type", "text/csv"),
                                              ("Content-Length", "\(CSVImport.maximumStreamedBytes + 1)"), ("Expect", "100-continue")])
            #expect(huge.status == 413)
            // A read-only token may not import.
            let read = try app.api("POST", "/api/v1/projects/\(agent.projectID)/tokens", token: agent.personalToken, json: ["name": "ro", "scope": "read"])
            let readToken = try #require(read.body["token"]?.stringValue)
            let denied = try app.send("POST", "/api/v1/projects/\(agent.projectID)/import",
                                      headers: [("x-api-token", readToken), ("Content-Type", "text/csv")], body: file)
            #expect(denied.status == 403)
        }
    }

    @Test func aRefusedRowDoesNotShiftTheNextRowsDifference() throws {
        let file = try Self.codeCarbonFile.get()
        let records = try CSVReader.records(file)
        let header = records[0].fields
        func row(_ seconds: Double, duration: Double, energy: Double) -> String {
            var fields = records[1].fields
            fields[header.firstIndex(of: "run_id")!] = "cumulative"
            fields[header.firstIndex(of: "timestamp")!] = ISOTime.format(Date().addingTimeInterval(seconds - 3600)).replacingOccurrences(of: "Z", with: "")
            fields[header.firstIndex(of: "duration")!] = String(duration)
            for column in ["energy_consumed", "cpu_energy", "emissions"] { fields[header.firstIndex(of: column)!] = String(energy) }
            fields[header.firstIndex(of: "ram_energy")!] = "0"
            fields[header.firstIndex(of: "water_consumed")!] = "0"
            return fields.map { $0.contains(",") || $0.contains("\"") ? "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : $0 }
                .joined(separator: ",")
        }
        // Cumulative rows 1 kWh, then a bad 0.5 kWh (lower), then 3 kWh: the run holds 3 kWh, not 1 + (3 - 0.5).
        let text = ([header.joined(separator: ","), row(0, duration: 10, energy: 1), row(10, duration: 20, energy: 0.5), row(20, duration: 30, energy: 3)])
            .joined(separator: "\n") + "\n"
        try withApp { app in
            let agent = try Agent(app)
            let refused = try importFile(app, agent, Array(text.utf8))
            #expect(refused.status == 422)
            #expect(refused.body["report"]?["refused"]?.arrayValue.first?["line"] == 3)
            #expect(try app.pool.query("SELECT count(*) AS n FROM runs").first!.decode("n", as: Int.self) == 0)
            let partial = try importFile(app, agent, Array(text.utf8), query: "?valid_only=true")
            #expect(partial.status == 201, "\(partial.body)")
            #expect(partial.body["samples_imported"] == 2)
            let run = try app.pool.query("SELECT energy_kwh, duration_seconds FROM runs WHERE client_key = 'cumulative'").first!
            #expect(abs(try run.decode("energy_kwh", as: Double.self) - 3) < 1e-12)
            #expect(abs(try run.decode("duration_seconds", as: Double.self) - 30) < 1e-12)
        }
    }

    @Test func theProjectPageUploadsAFileAndTheCommandLineImportsOne() throws {
        let file = try Self.codeCarbonFile.get()
        try withApp { app in
            let agent = try Agent(app)
            try app.pool.query("UPDATE users SET password_hash = \(PasswordHasher.hash("a long password 123", iterations: 1000)), must_change_password = false")
            var browser = Browser(app: app)
            _ = try browser.logIn(email: Agent.email("Acme"), password: "a long password 123")
            let path = try app.pool.query("""
                SELECT '/o/' || o.slug || '/' || t.slug || '/' || p.slug AS path FROM projects p JOIN teams t ON t.id = p.team_id
                JOIN organizations o ON o.id = p.organization_id
                """).first!.decode("path", as: String.self)
            let page = try browser.get(path)
            #expect(page.text.contains("enctype=\"multipart/form-data\""))
            let csrf = try #require(Browser.csrf(in: page.text))
            func upload(_ token: String) throws -> RawResponse {
                let boundary = "----soot\(UUID().uuidString)"
                var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n\(token)\r\n".utf8)
                body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"experiment_id\"\r\n\r\n\r\n".utf8)
                body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"emissions.csv\"\r\nContent-Type: text/csv\r\n\r\n".utf8)
                body += file + Array("\r\n--\(boundary)--\r\n".utf8)
                return try app.send("POST", path + "/import", headers: browser.cookieHeader + [("Content-Type", "multipart/form-data; boundary=\(boundary)")],
                                    body: body)
            }
            #expect(try upload("forged").status == 403)
            let result = try upload(csrf)
            #expect(result.status == 200)
            #expect(result.text.contains("4 new rows of 4: 3 new runs"))
            #expect(try app.pool.query("SELECT count(*) AS n FROM runs").first!.decode("n", as: Int.self) == 3)
            // The same file again through the page says that nothing was new.
            let again = try upload(csrf)
            #expect(again.status == 200 && again.text.contains("Nothing new: the 4 valid rows of this file were imported before."))

            // `soot import` against the same database: the same file adds nothing; exit status 0 and a JSON report.
            let binary = TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/soot").path
            try #require(FileManager.default.isExecutableFile(atPath: binary), "build the soot executable first (swift build)")
            let csvFile = FileManager.default.temporaryDirectory.appendingPathComponent("soot-import-\(UUID().uuidString).csv")
            try Data(file).write(to: csvFile)
            defer { try? FileManager.default.removeItem(at: csvFile) }
            let cli = try Shell.run(binary, ["import", csvFile.path, "--project", agent.projectID], environment: ["DATABASE_URL": app.url, "LOG_LEVEL": "error"])
            #expect(cli.status == 0, "\(cli.errors)")
            let report = try #require(JSONValue.parse(Array(cli.output.utf8)))
            #expect(report["duplicates"] == 4 && report["samples_imported"] == 0)
            #expect(cli.errors.contains("Imported 4 of 4 rows (100 %)"))
            // A bad file: exit status 1, nothing written.
            try Data("timestamp,run_id,duration,emissions,energy_consumed\n2026-01-01T00:00:00,x,oops,1,1\n".utf8).write(to: csvFile)
            let bad = try Shell.run(binary, ["import", csvFile.path, "--project", agent.projectID], environment: ["DATABASE_URL": app.url, "LOG_LEVEL": "error"])
            #expect(bad.status == 1)
            #expect(bad.output.contains("\"column\":\"duration\""))
            #expect(try app.pool.query("SELECT count(*) AS n FROM runs").first!.decode("n", as: Int.self) == 3)
        }
    }
}
