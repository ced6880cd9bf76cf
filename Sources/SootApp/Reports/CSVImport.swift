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
/// The file is read as it arrives (a request body or a file, in pieces): each row is validated and written at once
/// inside one transaction, so memory stays bounded by the runs in the file, not its rows. Rows of a run are taken in
/// the order of the file, as CodeCarbon appends them. Every refused row is reported with its line, column, value and
/// reason (the first `maximumReportedProblems`, and how many in all), and nothing is kept unless every row is valid
/// or the caller asked for the valid rows only: the transaction is rolled back.
struct CSVImport {
    struct Problem: Error, Sendable, Equatable {
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
        /// The first `maximumReportedProblems` refused rows.
        var refused: [Problem] = []
        /// Every refused row, reported or not.
        var refusedCount = 0
        var imported: Bool { refusedCount == 0 || validOnly }
        var validOnly = false

        mutating func refuse(_ problem: Problem) {
            refusedCount += 1
            if refused.count < CSVImport.maximumReportedProblems { refused.append(problem) }
        }

        var json: JSONValue {
            ["rows": .int(rows), "runs_created": .int(runsCreated), "runs_extended": .int(runsExtended),
             "samples_imported": .int(samplesImported), "duplicates": .int(duplicates),
             "refused": .array(refused.map(\.json)), "refused_count": .int(refusedCount)]
        }
    }

    /// How many refused rows a report lists (it counts them all).
    static let maximumReportedProblems = 1000

    /// Largest file through the page's upload form, which holds the form in memory to find its parts: 413 past it.
    static let maximumBytes = 64 * 1024 * 1024
    /// Largest file through REST and the command line, which read it as it comes: 413 past it.
    static let maximumStreamedBytes = 1 << 30
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

    /// One data row as a snapshot, or the problem that refuses it.
    static func validate(_ record: CSVReader.Record, columns: [String]) -> Result<Snapshot, Problem> {
        guard record.fields.count == columns.count else {
            return .failure(Problem(line: record.line, column: "", value: "",
                                    message: "\(record.fields.count) fields where the header has \(columns.count)."))
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
            return .success(try snapshot(JSONBody(object: object), line: record.line))
        } catch let error as AppError {
            let column = error.field ?? ""
            return .failure(Problem(line: record.line, column: column, value: zip(columns, record.fields).first { $0.0 == column }?.1 ?? "",
                                    message: error.message))
        } catch {
            return .failure(Problem(line: record.line, column: "", value: "", message: "\(error)"))
        }
    }

    /// The header's column names, checked for the columns an import needs.
    static func columns(_ header: CSVReader.Record) throws -> [String] {
        let columns = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        for required in requiredColumns where !columns.contains(required) {
            throw AppError.invalid("file", "The header has no \(required) column; is this a CodeCarbon emissions.csv?")
        }
        return columns
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

    /// Imports `bytes` (a whole file in memory).
    func run(_ database: ConnectionPool, _ bytes: [UInt8], limit: Int = maximumBytes, progress: ((Int, Int) -> Void)? = nil) throws -> Outcome {
        var offset = 0
        return try run(database, limit: limit, progress: progress) {
            guard offset < bytes.count else { return nil }
            let end = min(bytes.count, offset + 64 * 1024)
            defer { offset = end }
            return Array(bytes[offset..<end])
        }
    }

    /// Imports the file `read` hands out in pieces (nil at its end), validating and writing each row as it comes,
    /// in one transaction that is rolled back unless every row is valid (or `validOnly`). `progress` is called
    /// with the rows done so far and 0 (the total is not known until the end).
    func run(_ database: ConnectionPool, limit: Int = maximumStreamedBytes, progress: ((Int, Int) -> Void)? = nil,
             read: () throws -> [UInt8]?) throws -> Outcome {
        try caller.requireWrite()
        do {
            return try database.transaction { connection in
                // Imports into one project take turns: two uploads of the same file would otherwise both miss the
                // run the other is creating, and the later one would fail on its key. Taking turns, the later
                // import finds the runs and samples the first committed, and adds nothing twice.
                try connection.query("SELECT pg_advisory_xact_lock(\(CSVImport.lockClass), hashtext(\(projectID.lowercaseText)))")
                var writer = Writer(importer: self, connection: connection, outcome: Outcome(validOnly: validOnly))
                var reader = CSVReader()
                var columns: [String]?
                var received = 0
                let handle: (CSVReader.Record) throws -> Void = { record in
                    guard let known = columns else {
                        columns = try CSVImport.columns(record)
                        return
                    }
                    writer.outcome.rows += 1
                    switch CSVImport.validate(record, columns: known) {
                    case .success(let snapshot): try writer.add(snapshot)
                    case .failure(let problem): writer.outcome.refuse(problem)
                    }
                    if writer.outcome.rows % 1000 == 0 { progress?(writer.outcome.rows, 0) }
                }
                do {
                    while let piece = try read() {
                        received += piece.count
                        guard received <= limit else {
                            throw AppError(.contentTooLarge, code: "too_large",
                                           "The file is larger than \(limit / 1024 / 1024) MiB; split it or use `soot import`.", field: "file")
                        }
                        try reader.feed(piece, handle)
                    }
                    try reader.finish(handle)
                } catch let failure as CSVReader.Failure {
                    throw AppError(.unprocessableContent, code: "invalid_csv", "Line \(failure.line): \(failure.message)", field: "file")
                }
                guard columns != nil else { throw AppError.invalid("file", "The file is empty.") }
                try writer.finish()
                progress?(writer.outcome.rows, writer.outcome.rows)
                var outcome = writer.outcome
                outcome.refused.sort { ($0.line, $0.column) < ($1.line, $1.column) }
                if outcome.refusedCount > 0 && !validOnly { throw Rollback(outcome: outcome) }
                return outcome
            }
        } catch let rollback as Rollback {
            var outcome = rollback.outcome
            (outcome.runsCreated, outcome.runsExtended, outcome.samplesImported, outcome.duplicates) = (0, 0, 0, 0)
            return outcome
        }
    }

    /// The first key of the imports' advisory lock ("csvi"); the second is the project's.
    static let lockClass: Int32 = 0x6373_7669

    /// Refused rows undo the whole import (unless `validOnly`).
    struct Rollback: Error { let outcome: Outcome }

    /// Writes valid rows as they come: per run, what it held already (the base each row's change is measured from)
    /// and the samples an earlier import of the same rows made; samples go out in batches of 1,000.
    struct Writer {
        struct RunState {
            let placement: RunPlacement
            var base: SampleMeasure
            let known: Set<String>
            var lastTimestamp: Double
        }

        let importer: CSVImport
        let connection: DatabaseConnection
        var outcome: Outcome
        var runs: [String: RunState] = [:]
        var experiments: [String: UUID] = [:]
        var pending: [SampleRecord] = []

        init(importer: CSVImport, connection: DatabaseConnection, outcome: Outcome) {
            self.importer = importer
            self.connection = connection
            self.outcome = outcome
        }

        mutating func add(_ row: Snapshot) throws {
            var state = try runs[row.runKey] ?? open(row)
            defer { runs[row.runKey] = state }
            // A row imported before moves the base without counting again.
            if state.known.contains(row.sampleKey) {
                outcome.duplicates += 1
                state.base = row.measure
                return
            }
            var delta = row.measure
            let base = state.base
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
            // A refused row does not move the base: the next row is measured from the last good one.
            if let (column, _) = decreased {
                outcome.refuse(Problem(line: row.line, column: column, value: "",
                                       message: "\(column) is lower than in the run's previous row; CodeCarbon's figures are cumulative (and its rows in time order)."))
                return
            }
            if delta.durationSeconds <= 0 {
                outcome.refuse(Problem(line: row.line, column: "duration", value: String(row.measure.durationSeconds),
                                       message: "duration did not increase since the run's previous row."))
                return
            }
            delta.emissionsKg = max(0, delta.emissionsKg)
            delta.energyKWh = max(0, delta.energyKWh)
            delta.cpuEnergyKWh = max(0, delta.cpuEnergyKWh)
            delta.gpuEnergyKWh = max(0, delta.gpuEnergyKWh)
            delta.ramEnergyKWh = max(0, delta.ramEnergyKWh)
            delta.waterLiters = max(0, delta.waterLiters)
            pending.append(SampleRecord(placement: state.placement, measure: delta, clientKey: row.sampleKey))
            state.base = row.measure
            state.lastTimestamp = max(state.lastTimestamp, row.measure.timestamp)
            if pending.count >= 1000 { try flush() }
        }

        /// The run a row's `run_id` names: imported before under it, the run whose id it is (recorded live), or new.
        private mutating func open(_ first: Snapshot) throws -> RunState {
            let experimentID: UUID
            if let chosen = importer.experimentID {
                experimentID = chosen
            } else if let known = experiments[first.projectName] {
                experimentID = known
            } else {
                experimentID = try importer.experiment(connection, named: first.projectName)
                experiments[first.projectName] = experimentID
            }
            var run = try connection.query("""
                SELECT \(unsafeSQL: Representation.runColumns) FROM runs r
                WHERE r.project_id = \(importer.projectID) AND \(Store.projectAccess(importer.caller, "r", idColumn: "project_id"))
                  AND ((r.experiment_id = \(experimentID) AND r.client_key = \(first.runKey)) OR r.id::text = \(first.runKey.lowercased()))
                ORDER BY (r.client_key = \(first.runKey)) DESC LIMIT 1
                """).first
            if run == nil {
                run = try IngestService.createRun(connection, caller: importer.caller, experimentID: experimentID,
                                                  startedAt: Date(timeIntervalSince1970: first.measure.timestamp - first.measure.durationSeconds),
                                                  endedAt: Date(timeIntervalSince1970: first.measure.timestamp), machine: first.machine,
                                                  source: "import", clientKey: first.runKey)
                outcome.runsCreated += 1
            } else {
                outcome.runsExtended += 1
            }
            let placement = try IngestService.placement(of: run!)
            let known = Set(try connection.query("""
                SELECT client_key FROM emission_samples WHERE run_id = \(placement.runID) AND client_key LIKE 'csv:%'
                """).rows.map { try $0.decode("client_key", as: String.self) })
            // What the run holds already is the base the first new row's figures are measured from; a file that
            // starts with rows imported before measures from those rows instead.
            var base = SampleMeasure(timestamp: 0, durationSeconds: try run!.decode("duration_seconds"), emissionsKg: try run!.decode("emissions_kg"),
                                     cpuEnergyKWh: try run!.decode("cpu_energy_kwh"), gpuEnergyKWh: try run!.decode("gpu_energy_kwh"),
                                     ramEnergyKWh: try run!.decode("ram_energy_kwh"), energyKWh: try run!.decode("energy_kwh"),
                                     waterLiters: try run!.decode("water_liters"))
            if known.contains(first.sampleKey) { base = SampleMeasure(timestamp: 0, durationSeconds: 0, emissionsKg: 0, energyKWh: 0) }
            return RunState(placement: placement, base: base, known: known, lastTimestamp: first.measure.timestamp)
        }

        mutating func flush() throws {
            guard !pending.isEmpty else { return }
            let written = try SampleWriter.write(connection, pending)
            outcome.samplesImported += written.filter { $0 }.count
            outcome.duplicates += written.filter { !$0 }.count
            pending.removeAll(keepingCapacity: true)
        }

        /// The last batch, and each run's end moved to its last row.
        mutating func finish() throws {
            try flush()
            for state in runs.values {
                try connection.query("""
                    UPDATE runs SET ended_at = greatest(ended_at, \(Date(timeIntervalSince1970: state.lastTimestamp)))
                    WHERE id = \(state.placement.runID) AND source = 'import'
                    """)
            }
        }
    }

    /// The experiment of the project with this name, created when missing.
    func experiment(_ connection: DatabaseConnection, named name: String) throws -> UUID {
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
    /// Imports the file `read` hands out in pieces into the project; returns the report as JSON and whether anything
    /// was imported. `progress` gets the rows done so far.
    public static func run(_ database: ConnectionPool, projectID: UUID, experimentID: UUID?, validOnly: Bool,
                           progress: @escaping (Int, Int) -> Void, read: () throws -> [UInt8]?) throws -> (report: JSONValue, imported: Bool) {
        guard let project = try database.query("SELECT organization_id FROM projects WHERE id = \(projectID)").first else {
            throw AppError.notFound("No project with id \(projectID.lowercaseText).")
        }
        let caller = Caller(identity: .project(projectID: projectID, organizationID: try project.decode("organization_id"),
                                               tokenID: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))),
                            credential: .none, canWrite: true)
        let outcome = try CSVImport(caller: caller, projectID: projectID, experimentID: experimentID, validOnly: validOnly)
            .run(database, limit: Int.max, progress: progress, read: read)
        return (outcome.json, outcome.imported)
    }
}
