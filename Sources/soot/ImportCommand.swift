import ArgumentParser
import Foundation
import Postgres
import SootStore
import SootWeb

/// `soot import FILE --project ID`: a CodeCarbon emissions.csv recorded offline, straight into the database.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a CodeCarbon emissions.csv into a project (idempotent: importing a file twice adds nothing).",
        discussion: """
            Each row becomes a run, or extends the run imported earlier with the same run_id. Without --experiment the \
            rows go to an experiment named after their project_name column. The file is read as it goes; if any row is \
            refused, nothing is imported (the report on stdout names line, column, value and reason) unless \
            --valid-only is given. Progress goes to stderr; the report (JSON) to stdout. Exit status 1 when nothing \
            was imported.
            """)

    @Argument(help: "The CSV file CodeCarbon wrote (emissions.csv).") var file: String
    @Option(help: "The project's id.") var project: String
    @Option(help: "The experiment's id (default: one per CodeCarbon project_name).") var experiment: String?
    @Flag(help: "Import the valid rows even when others are refused.") var validOnly = false
    @OptionGroup var database: DatabaseOptions

    func run() throws {
        guard let projectID = UUID(uuidString: project) else { throw ValidationError("--project must be a project id.") }
        let experimentID = try experiment.map { text -> UUID in
            guard let id = UUID(uuidString: text) else { throw ValidationError("--experiment must be an experiment id.") }
            return id
        }
        guard let handle = FileHandle(forReadingAtPath: file) else { throw ValidationError("Cannot read \(file).") }
        defer { try? handle.close() }
        let interactive = isatty(2) == 1
        FileHandle.standardError.write(Data("Reading \(file)…\n".utf8))
        var lastShown = Date.distantPast
        let (report, imported) = try withDatabase(database) { pool in
            try OfflineImport.run(Store(database: pool), projectID: projectID, experimentID: experimentID, validOnly: validOnly, progress: { done, total in
                let now = Date()
                guard total > 0 || now.timeIntervalSince(lastShown) > 0.5 else { return }
                lastShown = now
                let line = total > 0 ? "Imported \(done) of \(total) rows (100 %)" : "Read \(done) rows"
                FileHandle.standardError.write(Data((interactive ? "\r" + line : line + "\n").utf8))
            }, read: {
                let data = try handle.read(upToCount: 256 * 1024) ?? Data()
                return data.isEmpty ? nil : [UInt8](data)
            })
        }
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
        print(report.serialized)
        if !imported {
            FileHandle.standardError.write(Data("Nothing was imported: some rows were refused (see the report); fix them or pass --valid-only.\n".utf8))
            throw ExitCode(1)
        }
    }
}
