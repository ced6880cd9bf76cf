import Emissions
import Foundation
import SootStore

/// Imports a CodeCarbon `emissions.csv` (written offline or behind a firewall) into a project.
///
/// Each row is a snapshot CodeCarbon wrote when a tracker stopped or flushed: its figures are cumulative since the
/// run started. Rows are grouped by `run_id`; each group becomes a run of the chosen experiment (or of an experiment
/// named after the row's `project_name` when none is chosen), or extends the run imported earlier with that `run_id`
/// (see `SampleImport` in the store, which writes them). A timestamp without an offset (CodeCarbon writes local time
/// without one) is taken as UTC.
///
/// The file is read as it arrives (a request body or a file, in pieces): each row is validated with the same rules
/// as the API's and handed to the writer at once. Every refused row is reported with its line, column, value and
/// reason (the first `ImportOutcome.maximumReportedProblems`, and how many in all), and nothing is kept unless every
/// row is valid or the caller asked for the valid rows only.
struct CSVImport {
    let importer: SampleImport

    init(caller: Caller, projectID: UUID, experimentID: UUID?, validOnly: Bool) {
        importer = SampleImport(caller: caller, projectID: projectID, experimentID: experimentID, validOnly: validOnly)
    }

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

    // MARK: Validation

    /// One data row as a snapshot, or the problem that refuses it.
    static func validate(_ record: CSVReader.Record, columns: [String]) -> Result<ImportRow, ImportProblem> {
        guard record.fields.count == columns.count else {
            return .failure(ImportProblem(line: record.line, column: "", value: "",
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
            return .success(try row(JSONBody(object: object), line: record.line))
        } catch let error as AppError {
            let column = error.field ?? ""
            return .failure(ImportProblem(line: record.line, column: column, value: zip(columns, record.fields).first { $0.0 == column }?.1 ?? "",
                                    message: error.message))
        } catch {
            return .failure(ImportProblem(line: record.line, column: "", value: "", message: "\(error)"))
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

    static func row(_ body: JSONBody, line: Int) throws -> ImportRow {
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
        return ImportRow(line: line, runKey: runKey, projectName: projectName, timestampText: timestampText, measure: measure,
                        machine: try Machine(body))
    }

    // MARK: Reading

    /// Imports `bytes` (a whole file in memory).
    func run(_ store: Store, _ bytes: [UInt8], limit: Int = maximumBytes, progress: ((Int, Int) -> Void)? = nil) throws -> ImportOutcome {
        var offset = 0
        return try run(store, limit: limit, progress: progress) {
            guard offset < bytes.count else { return nil }
            let end = min(bytes.count, offset + 64 * 1024)
            defer { offset = end }
            return Array(bytes[offset..<end])
        }
    }

    /// Imports the file `read` hands out in pieces (nil at its end), validating and writing each row as it comes.
    /// `progress` is called with the rows done so far and 0 (the total is not known until the end).
    func run(_ store: Store, limit: Int = maximumStreamedBytes, progress: ((Int, Int) -> Void)? = nil,
             read: () throws -> [UInt8]?) throws -> ImportOutcome {
        var rowsDone = 0
        let outcome = try store.importSamples(importer) { writer in
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
                case .success(let row): try writer.add(row)
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
            rowsDone = writer.outcome.rows
        }
        progress?(rowsDone, rowsDone)
        return outcome
    }
}

extension ImportProblem: JSONRepresentable {
    package var json: JSONValue {
        ["line": .int(line), "column": .string(column), "value": .string(value), "message": .string(message)]
    }
}

extension ImportOutcome: JSONRepresentable {
    package var json: JSONValue {
        ["rows": .int(rows), "runs_created": .int(runsCreated), "runs_extended": .int(runsExtended),
         "samples_imported": .int(samplesImported), "duplicates": .int(duplicates),
         "refused": .array(refused.map(\.json)), "refused_count": .int(refusedCount)]
    }
}

/// The command line's import (`soot import`): run by the operator, with the rights of a write token of the project.
package enum OfflineImport {
    /// Imports the file `read` hands out in pieces into the project; returns the report as JSON and whether anything
    /// was imported. `progress` gets the rows done so far.
    package static func run(_ store: Store, projectID: UUID, experimentID: UUID?, validOnly: Bool,
                            progress: @escaping (Int, Int) -> Void, read: () throws -> [UInt8]?) throws -> (report: JSONValue, imported: Bool) {
        let caller = try store.operatorCaller(projectID: projectID)
        let outcome = try CSVImport(caller: caller, projectID: projectID, experimentID: experimentID, validOnly: validOnly)
            .run(store, limit: Int.max, progress: progress, read: read)
        return (outcome.json, outcome.imported)
    }
}
