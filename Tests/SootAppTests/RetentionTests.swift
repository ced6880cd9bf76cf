import Emissions
import Foundation
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

/// Samples live in month partitions (migration 0011), created ahead and on demand; `--sample-retention` folds old
/// months into one sample per run and hour without changing any total.
@Suite struct RetentionTests {
    /// Deterministic figures that are not round in binary, so that sums depend on their order as real ones do.
    struct Figures {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        mutating func next() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
    }

    /// Posts a run report with samples every `step` seconds from `start` (keys s0, s1, ...); returns the run id.
    func postRun(_ app: AppFixture, _ agent: Agent, start: Double, count: Int, step: Double, figures: inout Figures) throws -> String {
        let samples: [JSONValue] = (0..<count).map { index in
            let energy = figures.next() / 50
            return ["id": .string("s\(index)"), "timestamp": .string(ISOTime.format(Date(timeIntervalSince1970: start + Double(index) * step))),
                    "duration_seconds": .number(step), "energy_kwh": .number(energy), "emissions_kg": .number(energy * (0.05 + figures.next() / 3)),
                    "cpu_energy_kwh": .number(energy * 0.7), "ram_energy_kwh": .number(energy * 0.3), "cpu_power_w": .number(30 + figures.next() * 50),
                    "water_liters": .number(figures.next())]
        }
        let report = try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: [
            "experiment_id": .string(agent.experimentID), "started_at": .string(ISOTime.format(Date(timeIntervalSince1970: start - step))),
            "samples": .array(samples),
        ])
        try #require(report.status == 201, "\(report.body)")
        return report.body["id"]!.stringValue!
    }

    func text(_ app: AppFixture, _ sql: SQLQuery) throws -> String {
        try app.pool.query(sql).rows.map { try $0.decode("t", as: String.self) }.joined(separator: "\n")
    }

    func get(_ app: AppFixture, _ agent: Agent, _ path: String) throws -> String {
        let response = try app.send("GET", path, headers: [("Authorization", "Bearer \(agent.personalToken)")])
        try #require(response.status == 200, "\(path): \(response.status)")
        return String(decoding: response.body, as: UTF8.self)
    }

    @Test func foldingOldMonthsKeepsEveryTotalAndReportAndDropsTheRows() throws {
        try withApp { app in
            let agent = try Agent(app)
            var figures = Figures()
            let now = Date().timeIntervalSince1970
            let thisMonth = SamplePartitions.month(of: now)
            let old = SamplePartitions.start(ofMonth: thisMonth - 3), older = SamplePartitions.start(ofMonth: thisMonth - 2)
            // A run of 40 hours of 5-minute samples in an old month; one across the edge of two old months; one now.
            let inOldMonth = try postRun(app, agent, start: old + 9 * 86_400 + 1_234.5, count: 480, step: 300, figures: &figures)
            let acrossMonths = try postRun(app, agent, start: older - 12 * 3600 + 17, count: 96, step: 900, figures: &figures)
            _ = try postRun(app, agent, start: now - 2 * 3600, count: 24, step: 300, figures: &figures)
            #expect(try app.pool.query("SELECT count(*) AS n FROM emission_samples").first!.decode("n", as: Int.self) == 600)

            // What must not change: every run's figures, every rollup, the reports of all time and of a range of UTC
            // days that cuts the run across months in two.
            let runs: SQLQuery = """
                SELECT row_to_json(r)::text AS t FROM (
                    SELECT id, sample_count, duration_seconds, emissions_kg, energy_kwh, cpu_energy_kwh, gpu_energy_kwh, ram_energy_kwh,
                           water_liters, cpu_power_w, first_sample_at, last_sample_at, started_at, ended_at FROM runs ORDER BY id) r
                """
            let rollups: SQLQuery = "SELECT row_to_json(d)::text AS t FROM (SELECT * FROM experiment_days ORDER BY experiment_id, day, shard) d"
            let organization = agent.organizationID
            let from = UTCDay.string(older), to = UTCDay.string(older + 20 * 86_400)
            let reports = ["/api/v1/reports/runs.csv?organization=\(organization)&range=all",
                           "/api/v1/reports/summary.csv?organization=\(organization)&by=project&range=all",
                           "/api/v1/reports/runs.json?organization=\(organization)&range=all"]
            let ranged = "/api/v1/reports/runs.csv?organization=\(organization)&from=\(from)&to=\(to)"
            let runsBefore = try text(app, runs), rollupsBefore = try text(app, rollups)
            let reportsBefore = try reports.map { try get(app, agent, $0) }
            let rangedBefore = try CSVReader.records(Array(get(app, agent, ranged).utf8))
            let fileBefore = try text(app, "SELECT pg_relation_filenode('emission_samples_y\(unsafeSQL: partitionSuffix(thisMonth - 3))')::text AS t")

            // Fold the months that ended before last month began.
            let days = Int(((now - SamplePartitions.start(ofMonth: thisMonth - 1)) / 86_400).rounded(.down))
            let folds = try SampleRetention.fold(app.pool, olderThanDays: days)
            #expect(folds.map(\.month) == [monthText(thisMonth - 3), monthText(thisMonth - 2)])
            #expect(folds.map(\.rowsBefore) == [480 + 48, 48])
            #expect(folds[0].rowsAfter == 41 + 12 && folds[1].rowsAfter == 12)  // 40 h starting off the hour: 41 hours, and 12 + 12
            #expect(try app.pool.query("SELECT count(*) AS n FROM emission_samples").first!.decode("n", as: Int.self) == 41 + 12 + 12 + 24)
            #expect(try app.pool.query("SELECT sum(sample_count)::int AS n FROM emission_samples").first!.decode("n", as: Int.self) == 600)

            // Stored figures and every all-time report: identical to the last digit.
            #expect(try text(app, runs) == runsBefore)
            #expect(try text(app, rollups) == rollupsBefore)
            for (path, before) in zip(reports, reportsBefore) { #expect(try get(app, agent, path) == before, "\(path)") }
            // The ranged report sums the folded run's samples inside the range: the same hours, the same counts, sums
            // equal but for the order of their additions (well below the CSV's meaning).
            let rangedAfter = try CSVReader.records(Array(get(app, agent, ranged).utf8))
            #expect(rangedAfter.count == rangedBefore.count && rangedAfter.count == 2)
            let header = rangedBefore[0].fields
            for (before, after) in zip(rangedBefore.dropFirst(), rangedAfter.dropFirst()) {
                for (name, (a, b)) in zip(header, zip(before.fields, after.fields)) {
                    if let x = Double(a), let y = Double(b), a != b {
                        #expect(abs(x - y) <= 1e-12 * max(abs(x), abs(y)), "\(name): \(a) against \(b)")
                    } else {
                        #expect(a == b, "\(name)")
                    }
                }
            }
            let row = try #require(rangedAfter.dropFirst().first { $0.fields[header.firstIndex(of: "run_id")!] == acrossMonths })
            #expect(row.fields[header.firstIndex(of: "partial")!] == "true" && row.fields[header.firstIndex(of: "samples")!] == "48")

            // The month's files were replaced, not its rows deleted: nothing for vacuum to clean.
            #expect(try text(app, "SELECT pg_relation_filenode('emission_samples_y\(unsafeSQL: partitionSuffix(thisMonth - 3))')::text AS t") != fileBefore)
            // The run's page still draws its chart from the folded samples.
            let samplesCSV = try get(app, agent, "/api/v1/runs/\(inOldMonth)/samples.csv")
            let sampleRows = try CSVReader.records(Array(samplesCSV.utf8))
            #expect(sampleRows.count == 1 + 41 && sampleRows[0].fields.last == "samples")
            #expect(sampleRows.dropFirst().reduce(0) { $0 + Int($1.fields.last!)! } == 480)

            // The samples' keys outlive them: posting the run's samples again counts none twice.
            let again = try app.api("POST", "/api/v1/runs/\(inOldMonth)/samples", token: agent.personalToken, json: [
                "samples": .array((0..<3).map { index in
                    ["id": .string("s\(index)"), "timestamp": .string(ISOTime.format(Date(timeIntervalSince1970: old + 9 * 86_400 + 1_234.5 + Double(index) * 300))),
                     "duration_seconds": 300, "energy_kwh": 1, "emissions_kg": 1]
                }),
            ])
            #expect(again.status == 201 && again.body["duplicates"]?.numberValue == 3 && again.body["accepted"]?.numberValue == 0)
            #expect(try text(app, runs) == runsBefore)

            // A late sample for a folded month is folded at the next pass, into its hour; a pass with nothing new
            // does nothing.
            let late = try app.api("POST", "/api/v1/runs/\(inOldMonth)/samples", token: agent.personalToken, json: [
                "samples": [["id": "late", "timestamp": .string(ISOTime.format(Date(timeIntervalSince1970: old + 9 * 86_400 + 1_300))),
                             "duration_seconds": 60, "energy_kwh": 0.5, "emissions_kg": 0.125]],
            ])
            #expect(late.status == 201 && late.body["accepted"]?.numberValue == 1)
            let lateFolds = try SampleRetention.fold(app.pool, olderThanDays: days)
            #expect(lateFolds.map(\.month) == [monthText(thisMonth - 3)])
            #expect(lateFolds.first?.rowsAfter == 41 + 12)
            #expect(try app.pool.query("SELECT sum(sample_count)::int AS n FROM emission_samples").first!.decode("n", as: Int.self) == 601)
            #expect(try SampleRetention.fold(app.pool, olderThanDays: days).isEmpty)
        }
    }

    func partitionSuffix(_ month: Int) -> String {
        let text = monthText(month)
        return "\(text.prefix(4))m\(text.dropFirst(5).prefix(2))"
    }

    func monthText(_ month: Int) -> String {
        String(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: SamplePartitions.start(ofMonth: month))).prefix(10))
    }

    /// A sample for a month that has no partition yet gets one in the writer's transaction; if that transaction
    /// rolls back, the partition goes with it and the next write makes it again.
    @Test func aMonthWithoutAPartitionGetsOneEvenAfterARollback() throws {
        try withApp { app in
            let agent = try Agent(app)
            var figures = Figures()
            let march2003 = 1_047_000_000.0  // 2003-03-07
            #expect(try app.pool.query("SELECT to_regclass('emission_samples_y2003m03') IS NULL AS missing").first!.decode("missing", as: Bool.self))
            let run = try postRun(app, agent, start: march2003, count: 3, step: 60, figures: &figures)
            let placement = try IngestService.placement(of: try app.pool.query("""
                SELECT id, organization_id, team_id, project_id, experiment_id FROM runs WHERE id = \(UUID(uuidString: run)!)
                """).first!)
            let record = SampleRecord(placement: placement, measure: SampleMeasure(timestamp: 1_078_000_000, durationSeconds: 1, emissionsKg: 0.5, energyKWh: 1),
                                      clientKey: nil)  // 2004-02-29
            struct Abandon: Error {}
            #expect(throws: Abandon.self) {
                try app.pool.transaction { connection in
                    _ = try SampleWriter.write(connection, [record])
                    throw Abandon()
                }
            }
            #expect(try app.pool.query("SELECT to_regclass('emission_samples_y2004m02') IS NULL AS missing").first!.decode("missing", as: Bool.self))
            #expect(try app.pool.withConnection { try SampleWriter.write($0, [record]) } == [true])
            #expect(try app.pool.query("SELECT count(*) AS n FROM emission_samples_y2004m02").first!.decode("n", as: Int.self) == 1)
            #expect(try app.pool.query("SELECT count(*) AS n FROM emission_samples_y2003m03").first!.decode("n", as: Int.self) == 3)
            // The months ahead exist from the start.
            let ahead = try app.pool.query("""
                SELECT count(*) AS n FROM pg_inherits WHERE inhparent = 'emission_samples'::regclass
                  AND inhrelid::regclass::text >= 'emission_samples_y' || to_char(now() AT TIME ZONE 'UTC', 'YYYY"m"MM')
                """).first!.decode("n", as: Int.self)
            #expect(ahead >= 1)
            try app.pool.withConnection { try SamplePartitions.ensureAhead($0) }
            #expect(try app.pool.query("""
                SELECT count(*) AS n FROM pg_inherits WHERE inhparent = 'emission_samples'::regclass
                  AND inhrelid::regclass::text >= 'emission_samples_y' || to_char(now() AT TIME ZONE 'UTC', 'YYYY"m"MM')
                """).first!.decode("n", as: Int.self) == 3)
        }
    }

    /// A client key stays unique for its run whatever timestamp comes with it, within a batch and across batches.
    @Test func aKeyCountsOnceWhateverItsTimestamp() throws {
        try withApp { app in
            let agent = try Agent(app)
            var figures = Figures()
            let run = try postRun(app, agent, start: Date().timeIntervalSince1970 - 7200, count: 2, step: 60, figures: &figures)
            let now = Date().timeIntervalSince1970
            let response = try app.api("POST", "/api/v1/runs/\(run)/samples", token: agent.personalToken, json: [
                "samples": [
                    ["id": "s0", "timestamp": .string(ISOTime.format(Date(timeIntervalSince1970: now - 100 * 86_400))), "duration_seconds": 1, "energy_kwh": 1, "emissions_kg": 1],
                    ["id": "new", "timestamp": .string(ISOTime.format(Date(timeIntervalSince1970: now - 60))), "duration_seconds": 1, "energy_kwh": 2, "emissions_kg": 1],
                    ["id": "new", "timestamp": .string(ISOTime.format(Date(timeIntervalSince1970: now - 40 * 86_400))), "duration_seconds": 1, "energy_kwh": 4, "emissions_kg": 1],
                ],
            ])
            #expect(response.status == 201 && response.body["accepted"]?.numberValue == 1 && response.body["duplicates"]?.numberValue == 2)
            #expect(try app.pool.query("SELECT count(*) AS n FROM emission_samples").first!.decode("n", as: Int.self) == 3)
            #expect(try app.pool.query("SELECT energy_kwh AS e FROM emission_samples WHERE client_key = 'new'").first!.decode("e", as: Double.self) == 2)
            // Deleting the run deletes its keys with its samples.
            #expect(try app.api("DELETE", "/api/v1/runs/\(run)", token: agent.personalToken).status == 204)
            #expect(try app.pool.query("SELECT count(*) AS n FROM sample_keys").first!.decode("n", as: Int.self) == 0)
        }
    }
}

/// What migration 0012's triggers keep for the tables that lost foreign keys to distributed ones.
@Suite struct LinkTablesTests {
    @Test func aDeletedProjectTakesItsTokensAndItsPublicLinkWithIt() throws {
        try withApp { app in
            let agent = try Agent(app)
            let shared = try app.api("PATCH", "/api/v1/projects/\(agent.projectID)", token: agent.personalToken, json: ["is_public": true])
            let path = try #require(shared.body["public_path"]?.stringValue)
            #expect(try app.send("GET", path).status == 200)
            let created = try app.send("POST", "/runs", headers: agent.header + [("Content-Type", "application/json")],
                                       body: runCreate(agent.experimentID).bytes)
            #expect(created.status == 201, "\(created.status) \(created.text)")
            let project = UUID(uuidString: agent.projectID)!
            #expect(try app.pool.query("SELECT count(*) AS n FROM api_tokens WHERE project_id = \(project)").first!.decode("n", as: Int.self) == 1)
            #expect(try app.api("DELETE", "/api/v1/projects/\(agent.projectID)", token: agent.personalToken).status == 204)
            #expect(try app.pool.query("SELECT count(*) AS n FROM api_tokens WHERE project_id = \(project)").first!.decode("n", as: Int.self) == 0)
            #expect(try app.pool.query("SELECT count(*) AS n FROM public_links").first!.decode("n", as: Int.self) == 0)
            #expect(try app.send("GET", path).status == 404)
        }
    }
}
