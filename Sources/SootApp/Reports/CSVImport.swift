import Emissions
import Foundation
import Postgres

/// Imports a CodeCarbon `emissions.csv` (written offline or behind a firewall) into a project.
///
/// Each row is a snapshot CodeCarbon wrote when a tracker stopped or flushed: its figures are cumulative since the
/// run started. Rows are grouped by `run_id`; each group becomes a run of the chosen experiment (or of an experiment
/// named after the row's `project_name` when none is chosen), or extends the run imported earlier with that `run_id`.
/// Each row becomes one sample holding what changed since the run's previous row, keyed by its timestamp and
/// duration, so importing the same file twice, or a later file that repeats earlier rows, adds nothing twice.
/// A timestamp without an offset (CodeCarbon writes local time without one) is taken as UTC.
///
/// Validation comes first: every refused row is reported with its line, column, value and reason, and nothing is
/// written unless every row is valid or the caller asked for the valid rows only. The writing is one transaction.
struct CSVImport {
    struct Problem: Sendable, Equatable {
        let line: Int
        let column: String
        let value: String
        let message: String

        var json: JSONValue {
            ["line": .int(line), "column": .string(column), "value": .string(value), "message": .string(message)]
        }
    }

    struct Outcome: Sendable {
        var rows = 0
        var runsCreated = 0
        var runsExtended = 0
        var samplesImported = 0
        var duplicates = 0
        var refused: [Problem] = []
        var imported: Bool { refused.isEmpty || validOnly }
        var validOnly = false

        var json: JSONValue {
            ["rows": .int(rows), "runs_created": .int(runsCreated), "runs_extended": .int(runsExtended),
             "samples_imported": .int(samplesImported), "duplicates": .int(duplicates),
             "refused": .array(refused.map(\.json))]
        }
    }

    /// Larger files are refused before parsing (the web and REST limit; the command line reads its file in parts).
    static let maximumBytes = 64 * 1024 * 1024
    /// Columns every CodeCarbon 2.x and 3.x file has, and that an import needs.
    static let requiredColumns = ["timestamp", "run_id", "duration", "emissions", "energy_consumed"]
    static let numericColumns: Set<String> = [
        "duration", "emissions", "emissions_rate", "cpu_power", "gpu_power", "ram_power", "cpu_energy", "gpu_energy", "ram_energy",
        "energy_consumed", "water_consumed", "cpu_count", "gpu_count", "longitude", "latitude", "ram_total_size",
        "cpu_utilization_percent", "gpu_utilization_percent", "ram_utilization_percent", "ram_used_gb", "pue", "wue",
    ]

    /// One valid row: its machine, and its cumulative figures.
    struct Snapshot {
        let line: Int
        let runKey: String
        let projectName: String
        let timestampText: String
        let measure: SampleMeasure
        let machine: SampleParsing.Machine
        var sampleKey: String { "csv:\(timestampText)|\(measure.durationSeconds)" }
    }

    let caller: Caller
    let projectID: UUID
    let experimentID: UUID?
    let validOnly: Bool

    // MARK: Validation

    /// Parses and validates every row; throws only when the file as a whole cannot be read.
    static func parse(_ bytes: [UInt8], limit: Int = maximumBytes) throws -> (snapshots: [Snapshot], problems: [Problem], rows: Int) {
        guard bytes.count <= limit else {
            throw AppError(.contentTooLarge, code: "too_large", "The file is larger than \(maximumBytes / 1024 / 1024) MiB; split it or use `soot import`.",
                           field: "file")
        }
        let records: [CSVReader.Record]
        do { records = try CSVReader.records(bytes) } catch {
            throw AppError(.unprocessableContent, code: "invalid_csv", "Line \(error.line): \(error.message)", field: "file")
        }
        guard let header = records.first else { throw AppError.invalid("file", "The file is empty.") }
        let columns = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        for required in requiredColumns where !columns.contains(required) {
            throw AppError.invalid("file", "The header has no \(required) column; is this a CodeCarbon emissions.csv?")
        }
        var snapshots: [Snapshot] = []
        var problems: [Problem] = []
        for record in records.dropFirst() {
            guard record.fields.count == columns.count else {
                problems.append(Problem(line: record.line, column: "", value: "",
                                        message: "\(record.fields.count) fields where the header has \(columns.count)."))
                continue
            }
            var object: [String: JSONValue] = [:]
            for (name, cell) in zip(columns, record.fields) {
                let text = cell.trimmingCharacters(in: .whitespaces)
                if text.isEmpty { continue }
                if numericColumns.contains(name) {
                    object[name] = Double(text).map { $0.isFinite ? JSONValue.number($0) : .string(text) } ?? .string(text)
                } else {
                    object[name] = .string(text)
                }
            }
            do {
                snapshots.append(try snapshot(JSONBody(object: object), line: record.line))
            } catch let error as AppError {
                let column = error.field ?? ""
                problems.append(Problem(line: record.line, column: column, value: zip(columns, record.fields).first { $0.0 == column }?.1 ?? "",
                                        message: error.message))
            }
        }
        return (snapshots, problems, records.count - 1)
    }

    static func snapshot(_ body: JSONBody, line: Int) throws -> Snapshot {
        guard let runKey = try body.string("run_id", required: true, maxLength: 200) else { throw AppError.invalid("run_id", "run_id is required.") }
        var timestampText = try body.string("timestamp", required: true, maxLength: 64)!
        let time = timestampText.split(separator: "T", maxSplits: 1).last ?? ""
        if !(time.contains("Z") || time.contains("+") || time.contains("-")) { timestampText += "Z" }
        var stamped = body.object
        stamped["timestamp"] = .string(timestampText)
        let checked = JSONBody(object: stamped)
        let timestamp = try SampleParsing.timestamp(checked, "timestamp")!
        guard let duration = try body.double("duration", required: true, range: 0...Plausibility.maximumRunDuration), duration > 0 else {
            throw AppError.invalid("duration", "duration must be greater than 0 seconds.")
        }
        func amount(_ key: String, _ maximum: Double, required: Bool = false) throws -> Double? {
            try SampleParsing.amount(body, key, maximum: maximum, required: required)
        }
        let energy = try amount("energy_consumed", Plausibility.maximumEnergyKWh, required: true)!
        let measure = SampleMeasure(
            timestamp: timestamp.timeIntervalSince1970, durationSeconds: duration,
            emissionsKg: try amount("emissions", Plausibility.maximumEmissionsKg, required: true)!,
            emissionsRate: try amount("emissions_rate", Plausibility.maximumEmissionsRate),
            cpuPowerW: try amount("cpu_power", Plausibility.maximumPowerW), gpuPowerW: try amount("gpu_power", Plausibility.maximumPowerW),
            ramPowerW: try amount("ram_power", Plausibility.maximumPowerW),
            cpuEnergyKWh: try amount("cpu_energy", Plausibility.maximumEnergyKWh) ?? 0,
            gpuEnergyKWh: try amount("gpu_energy", Plausibility.maximumEnergyKWh) ?? 0,
            ramEnergyKWh: try amount("ram_energy", Plausibility.maximumEnergyKWh) ?? 0, energyKWh: energy,
            cpuUtilization: try body.double("cpu_utilization_percent", range: 0...100_000),
            gpuUtilization: try body.double("gpu_utilization_percent", range: 0...100_000),
            ramUtilization: try body.double("ram_utilization_percent", range: 0...100_000),
            waterLiters: try amount("water_consumed", Plausibility.maximumWaterLiters) ?? 0)
        let projectName = try body.string("project_name", maxLength: 200) ?? "Imported"
        return Snapshot(line: line, runKey: runKey, projectName: projectName, timestampText: timestampText, measure: measure,
                        machine: try SampleParsing.Machine(body))
    }

    // MARK: Writing

    /// Validates `bytes` and, unless rows were refused (and not `validOnly`), writes them in one transaction.
    /// `progress` is called with (rows done, rows in all) as runs are written.
    func run(_ database: ConnectionPool, _ bytes: [UInt8], limit: Int = maximumBytes, progress: ((Int, Int) -> Void)? = nil) throws -> Outcome {
        try caller.requireWrite()
        let (snapshots, problems, rows) = try Self.parse(bytes, limit: limit)
        var outcome = Outcome(rows: rows, refused: problems, validOnly: validOnly)
        guard problems.isEmpty || validOnly else { return outcome }
        // Runs in the order they first appear; rows of a run in time order.
        var order: [String] = []
        var groups: [String: [Snapshot]] = [:]
        for snapshot in snapshots {
            if groups[snapshot.runKey] == nil { order.append(snapshot.runKey) }
            groups[snapshot.runKey, default: []].append(snapshot)
        }
        do {
            outcome = try database.transaction { connection in
                // Imports into one project take turns: two uploads of the same file would otherwise both miss the
                // run the other is creating, and the later one would fail on its key. Taking turns, the later
                // import finds the runs and samples the first committed, and adds nothing twice.
                try connection.query("SELECT pg_advisory_xact_lock(\(CSVImport.lockClass), hashtext(\(projectID.lowercaseText)))")
                var outcome = outcome
                var done = 0
                for key in order {
                    let rows = groups[key]!.sorted { ($0.measure.timestamp, $0.measure.durationSeconds) < ($1.measure.timestamp, $1.measure.durationSeconds) }
                    try write(connection, runKey: key, rows: rows, into: &outcome)
                    done += rows.count
                    progress?(done, snapshots.count)
                }
                if !outcome.refused.isEmpty && !validOnly { throw Rollback(outcome: outcome) }
                return outcome
            }
        } catch let rollback as Rollback {
            var outcome = rollback.outcome
            (outcome.runsCreated, outcome.runsExtended, outcome.samplesImported, outcome.duplicates) = (0, 0, 0, 0)
            return outcome
        }
        outcome.refused.sort { ($0.line, $0.column) < ($1.line, $1.column) }
        return outcome
    }

    /// The first key of the imports' advisory lock ("csvi"); the second is the project's.
    static let lockClass: Int32 = 0x6373_7669

    /// Refusals found while writing (a cumulative figure going down) undo the whole import.
    struct Rollback: Error { let outcome: Outcome }

    private func write(_ connection: DatabaseConnection, runKey: String, rows: [Snapshot], into outcome: inout Outcome) throws {
        let first = rows[0]
        let experimentID = try self.experimentID ?? experiment(connection, named: first.projectName)
        // The run imported before under this run_id, or the run whose id it is (a run Soot recorded live).
        var run = try connection.query("""
            SELECT \(unsafeSQL: Representation.runColumns) FROM runs r
            WHERE r.project_id = \(projectID) AND \(Store.projectAccess(caller, "r", idColumn: "project_id"))
              AND ((r.experiment_id = \(experimentID) AND r.client_key = \(runKey)) OR r.id::text = \(runKey.lowercased()))
            ORDER BY (r.client_key = \(runKey)) DESC LIMIT 1
            """).first
        if run == nil {
            run = try IngestService.createRun(connection, caller: caller, experimentID: experimentID,
                                       startedAt: Date(timeIntervalSince1970: first.measure.timestamp - first.measure.durationSeconds),
                                       endedAt: Date(timeIntervalSince1970: rows.last!.measure.timestamp), machine: first.machine,
                                       source: "import", clientKey: runKey)
            outcome.runsCreated += 1
        } else {
            outcome.runsExtended += 1
        }
        let placement = try IngestService.placement(of: run!)
        let known = Set(try connection.query("""
            SELECT client_key FROM emission_samples WHERE run_id = \(placement.runID) AND client_key LIKE 'csv:%'
            """).rows.map { try $0.decode("client_key", as: String.self) })
        // What the run holds already is the base the first new row's figures are measured from.
        var base = SampleMeasure(timestamp: 0, durationSeconds: try run!.decode("duration_seconds"), emissionsKg: try run!.decode("emissions_kg"),
                                 cpuEnergyKWh: try run!.decode("cpu_energy_kwh"), gpuEnergyKWh: try run!.decode("gpu_energy_kwh"),
                                 ramEnergyKWh: try run!.decode("ram_energy_kwh"), energyKWh: try run!.decode("energy_kwh"),
                                 waterLiters: try run!.decode("water_liters"))
        if rows.contains(where: { known.contains($0.sampleKey) }) {
            base = SampleMeasure(timestamp: 0, durationSeconds: 0, emissionsKg: 0, energyKWh: 0)
        }
        var records: [SampleRecord] = []
        for row in rows {
            // A refused row does not move the base: the next row is measured from the last good one.
            if known.contains(row.sampleKey) {
                outcome.duplicates += 1
                base = row.measure
                continue
            }
            var delta = row.measure
            delta.durationSeconds -= base.durationSeconds
            delta.emissionsKg -= base.emissionsKg
            delta.energyKWh -= base.energyKWh
            delta.cpuEnergyKWh -= base.cpuEnergyKWh
            delta.gpuEnergyKWh -= base.gpuEnergyKWh
            delta.ramEnergyKWh -= base.ramEnergyKWh
            delta.waterLiters -= base.waterLiters
            let tolerance = 1e-12
            let decreased = [("duration", delta.durationSeconds), ("emissions", delta.emissionsKg), ("energy_consumed", delta.energyKWh),
                             ("cpu_energy", delta.cpuEnergyKWh), ("gpu_energy", delta.gpuEnergyKWh), ("ram_energy", delta.ramEnergyKWh),
                             ("water_consumed", delta.waterLiters)].first { $0.1 < -tolerance }
            if let (column, _) = decreased {
                outcome.refused.append(Problem(line: row.line, column: column, value: "",
                                               message: "\(column) is lower than in the run's previous row; CodeCarbon's figures are cumulative."))
                continue
            }
            if delta.durationSeconds <= 0 {
                outcome.refused.append(Problem(line: row.line, column: "duration", value: String(row.measure.durationSeconds),
                                               message: "duration did not increase since the run's previous row."))
                continue
            }
            delta.emissionsKg = max(0, delta.emissionsKg)
            delta.energyKWh = max(0, delta.energyKWh)
            delta.cpuEnergyKWh = max(0, delta.cpuEnergyKWh)
            delta.gpuEnergyKWh = max(0, delta.gpuEnergyKWh)
            delta.ramEnergyKWh = max(0, delta.ramEnergyKWh)
            delta.waterLiters = max(0, delta.waterLiters)
            records.append(SampleRecord(placement: placement, measure: delta, clientKey: row.sampleKey))
            base = row.measure
        }
        for batch in stride(from: 0, to: records.count, by: 1000) {
            let written = try SampleWriter.write(connection, Array(records[batch..<min(records.count, batch + 1000)]))
            outcome.samplesImported += written.filter { $0 }.count
            outcome.duplicates += written.filter { !$0 }.count
        }
        try connection.query("""
            UPDATE runs SET ended_at = greatest(ended_at, \(Date(timeIntervalSince1970: rows.last!.measure.timestamp)))
            WHERE id = \(placement.runID) AND source = 'import'
            """)
    }

    /// The experiment of the project with this name, created when missing.
    private func experiment(_ connection: DatabaseConnection, named name: String) throws -> UUID {
        guard let project = try connection.query("""
            SELECT p.organization_id, p.team_id FROM projects p WHERE p.id = \(projectID) AND \(Store.projectAccess(caller))
            """).first else { throw AppError.notFound("No such project.") }
        if let existing = try connection.query("SELECT id FROM experiments WHERE project_id = \(projectID) AND name = \(name)").first {
            return try existing.decode("id")
        }
        return try connection.query("""
            INSERT INTO experiments (organization_id, team_id, project_id, name)
            VALUES (\(try project.decode("organization_id", as: UUID.self)), \(try project.decode("team_id", as: UUID.self)), \(projectID), \(name))
            ON CONFLICT (project_id, name) DO UPDATE SET name = excluded.name
            RETURNING id
            """).first!.decode("id")
    }
}

/// The command line's import (`soot import`): run by the operator, with the rights of a write token of the project.
public enum OfflineImport {
    /// Imports `bytes` into the project; returns the report as JSON and whether anything was imported.
    public static func run(_ database: ConnectionPool, bytes: [UInt8], projectID: UUID, experimentID: UUID?, validOnly: Bool,
                           progress: @escaping (Int, Int) -> Void) throws -> (report: JSONValue, imported: Bool) {
        guard let project = try database.query("SELECT organization_id FROM projects WHERE id = \(projectID)").first else {
            throw AppError.notFound("No project with id \(projectID.lowercaseText).")
        }
        let caller = Caller(identity: .project(projectID: projectID, organizationID: try project.decode("organization_id"),
                                               tokenID: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))),
                            credential: .none, canWrite: true)
        let outcome = try CSVImport(caller: caller, projectID: projectID, experimentID: experimentID, validOnly: validOnly)
            .run(database, bytes, limit: 1 << 30, progress: progress)
        return (outcome.json, outcome.imported)
    }
}
