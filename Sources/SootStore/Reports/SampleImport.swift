import Emissions
import Foundation
import Postgres

/// One valid row of an import: a run's cumulative figures at a moment (CodeCarbon's emissions.csv rows), and the
/// key that makes importing it twice count once.
package struct ImportRow: Sendable {
    package let line: Int
    package let runKey: String
    package let projectName: String
    package let timestampText: String
    package let measure: SampleMeasure
    package let machine: Machine
    var sampleKey: String { "csv:\(timestampText)|\(measure.durationSeconds)" }

    package init(line: Int, runKey: String, projectName: String, timestampText: String, measure: SampleMeasure, machine: Machine) {
        (self.line, self.runKey, self.projectName, self.timestampText, self.measure, self.machine) =
            (line, runKey, projectName, timestampText, measure, machine)
    }
}

/// A refused row: its line, column, value and the reason.
package struct ImportProblem: Error, Sendable, Equatable {
    package let line: Int
    package let column: String
    package let value: String
    package let message: String

    package init(line: Int, column: String, value: String, message: String) {
        (self.line, self.column, self.value, self.message) = (line, column, value, message)
    }
}

/// What an import did, or would have done.
package struct ImportOutcome: Sendable {
    package var rows = 0
    package var runsCreated = 0
    package var runsExtended = 0
    package var samplesImported = 0
    package var duplicates = 0
    /// The first `maximumReportedProblems` refused rows.
    package var refused: [ImportProblem] = []
    /// Every refused row, reported or not.
    package var refusedCount = 0
    package var imported: Bool { refusedCount == 0 || validOnly }
    package var validOnly = false

    /// How many refused rows a report lists (it counts them all).
    package static let maximumReportedProblems = 1000

    package mutating func refuse(_ problem: ImportProblem) {
        refusedCount += 1
        if refused.count < ImportOutcome.maximumReportedProblems { refused.append(problem) }
    }
}

/// An import into a project: rows arrive one by one, each is written as it comes, in one transaction that is rolled
/// back unless every row is valid (or `validOnly`). Each row becomes one sample holding what changed since the run's
/// previous row, keyed by its timestamp and duration, so importing the same file twice, or a later file that repeats
/// earlier rows, adds nothing twice. Memory stays bounded by the runs in the file, not its rows.
package struct SampleImport: Sendable {
    package let caller: Caller
    package let projectID: UUID
    package let experimentID: UUID?
    package let validOnly: Bool

    package init(caller: Caller, projectID: UUID, experimentID: UUID?, validOnly: Bool) {
        (self.caller, self.projectID, self.experimentID, self.validOnly) = (caller, projectID, experimentID, validOnly)
    }

    /// Runs `feed` inside the import's transaction; `feed` hands each row to the writer (`add`) or refuses it
    /// (`outcome.refuse`). Imports into one project take turns.
    /// `committed` is told what was written once the transaction has committed (metrics), never for a rollback.
    package func run(_ database: ConnectionPool, committed: ([(records: [SampleRecord], flags: [Bool])]) -> Void = { _ in },
                     _ feed: (inout Writer) throws -> Void) throws -> ImportOutcome {
        try caller.requireWrite()
        var written: [(records: [SampleRecord], flags: [Bool])] = []
        do {
            let outcome = try database.transaction { connection in
                // Imports into one project take turns: two uploads of the same file would otherwise both miss the
                // run the other is creating, and the later one would fail on its key. Taking turns, the later
                // import finds the runs and samples the first committed, and adds nothing twice.
                try connection.query("SELECT pg_advisory_xact_lock(\(SampleImport.lockClass), hashtext(\(projectID.lowercaseText)))")
                var writer = Writer(importer: self, connection: connection, outcome: ImportOutcome(validOnly: validOnly))
                try feed(&writer)
                try writer.finish()
                var outcome = writer.outcome
                outcome.refused.sort { ($0.line, $0.column) < ($1.line, $1.column) }
                if outcome.refusedCount > 0 && !validOnly { throw Rollback(outcome: outcome) }
                written = writer.written
                let project = try connection.query("SELECT organization_id, name FROM projects WHERE id = \(projectID)").first
                try Audit.record(connection, AuditActor(caller), .samplesImport, organization: try project?.decode("organization_id", as: UUID.self),
                                 object: AuditObject("project", projectID, try project?.decode("name", as: String.self) ?? ""),
                                 new: [("rows", String(outcome.rows)), ("runs_created", String(outcome.runsCreated)),
                                       ("runs_extended", String(outcome.runsExtended)), ("samples_imported", String(outcome.samplesImported)),
                                       ("duplicates", String(outcome.duplicates)), ("refused", String(outcome.refusedCount)),
                                       ("experiment_id", experimentID?.lowercaseText)])
                return outcome
            }
            committed(written)
            return outcome
        } catch let rollback as Rollback {
            var outcome = rollback.outcome
            (outcome.runsCreated, outcome.runsExtended, outcome.samplesImported, outcome.duplicates) = (0, 0, 0, 0)
            return outcome
        }
    }

    /// The first key of the imports' advisory lock ("csvi"); the second is the project's.
    static let lockClass: Int32 = 0x6373_7669

    /// Refused rows undo the whole import (unless `validOnly`).
    struct Rollback: Error { let outcome: ImportOutcome }

    /// Writes valid rows as they come: per run, what it held already (the base each row's change is measured from)
    /// and the samples an earlier import of the same rows made; samples go out in batches of 1,000.
    package struct Writer {
        package struct RunState {
            let placement: RunPlacement
            var base: SampleMeasure
            let known: Set<String>
            var lastTimestamp: Double
        }

        package let importer: SampleImport
        package let connection: DatabaseConnection
        package var outcome: ImportOutcome
        package var runs: [String: RunState] = [:]
        package var experiments: [String: UUID] = [:]
        package var pending: [SampleRecord] = []
        /// What each flush wrote, for the metrics once the import commits.
        package var written: [(records: [SampleRecord], flags: [Bool])] = []

        package init(importer: SampleImport, connection: DatabaseConnection, outcome: ImportOutcome) {
            self.importer = importer
            self.connection = connection
            self.outcome = outcome
        }

        package mutating func add(_ row: ImportRow) throws {
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
                outcome.refuse(ImportProblem(line: row.line, column: column, value: "",
                                       message: "\(column) is lower than in the run's previous row; CodeCarbon's figures are cumulative (and its rows in time order)."))
                return
            }
            if delta.durationSeconds <= 0 {
                outcome.refuse(ImportProblem(line: row.line, column: "duration", value: String(row.measure.durationSeconds),
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
        private mutating func open(_ first: ImportRow) throws -> RunState {
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
                                                  source: "import", clientKey: first.runKey, audited: false)
                outcome.runsCreated += 1
            } else {
                outcome.runsExtended += 1
            }
            let placement = try IngestService.placement(of: run!)
            let known = Set(try connection.query("""
                SELECT client_key FROM sample_keys
                WHERE organization_id = \(placement.organizationID) AND run_id = \(placement.runID) AND client_key LIKE 'csv:%'
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

        package mutating func flush() throws {
            guard !pending.isEmpty else { return }
            let flags = try SampleWriter.write(connection, pending)
            outcome.samplesImported += flags.filter { $0 }.count
            outcome.duplicates += flags.filter { !$0 }.count
            written.append((pending, flags))
            pending.removeAll(keepingCapacity: true)
        }

        /// The last batch, and each run's end moved to its last row.
        package mutating func finish() throws {
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
    package func experiment(_ connection: DatabaseConnection, named name: String) throws -> UUID {
        guard let project = try connection.query("""
            SELECT p.organization_id, p.team_id FROM projects p WHERE p.id = \(projectID) AND \(Store.projectAccess(caller))
            """).first else { throw AppError.notFound("No such project.") }
        if let existing = try connection.query("SELECT id FROM experiments WHERE project_id = \(projectID) AND lower(name) = lower(\(name))").first {
            return try existing.decode("id")
        }
        return try connection.query("""
            INSERT INTO experiments (organization_id, team_id, project_id, name)
            VALUES (\(try project.decode("organization_id", as: UUID.self)), \(try project.decode("team_id", as: UUID.self)), \(projectID), \(name))
            ON CONFLICT (organization_id, project_id, (lower(name))) DO UPDATE SET name = experiments.name
            RETURNING id
            """).first!.decode("id")
    }

    /// The caller `soot import` writes as: the operator, with the rights of a write token of the project.
    package static func operatorCaller(_ database: ConnectionPool, projectID: UUID) throws -> Caller {
        guard let project = try database.query("SELECT organization_id FROM projects WHERE id = \(projectID)").first else {
            throw AppError.notFound("No project with id \(projectID.lowercaseText).")
        }
        return Caller(identity: .project(projectID: projectID, organizationID: try project.decode("organization_id"),
                                         tokenID: UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))),
                      credential: .none, canWrite: true)
    }
}

extension Store {
    /// Runs an import (see `SampleImport.run`) on the store's pool.
    package func importSamples(_ importer: SampleImport, _ feed: (inout SampleImport.Writer) throws -> Void) throws -> ImportOutcome {
        let metrics = self.metrics
        return try importer.run(database, committed: { written in
            for (records, flags) in written { metrics?.committed(records, written: flags, path: "imports") }
        }, feed)
    }

    /// The caller `soot import` writes as (see `SampleImport.operatorCaller`).
    package func operatorCaller(projectID: UUID) throws -> Caller {
        try SampleImport.operatorCaller(database, projectID: projectID)
    }
}

extension Store {
    /// Whether the caller may import into the project (and experiment): 403 for a read-only credential, 404 for a
    /// project it cannot see or an experiment not in it. Checked from a request's head, before its body is read.
    package func checkImport(_ caller: Caller, projectID: UUID, experimentID: UUID?) throws {
        try caller.requireWrite()
        guard try database.query("SELECT 1 FROM projects p WHERE p.id = \(projectID) AND \(Store.projectAccess(caller))").first != nil else {
            throw AppError.notFound("No such project.")
        }
        if let experimentID, try database.query("""
            SELECT 1 FROM experiments e WHERE e.id = \(experimentID) AND e.project_id = \(projectID)
            """).first == nil {
            throw AppError(.notFound, code: "not_found", "No such experiment in this project.", field: "experiment_id")
        }
    }
}
