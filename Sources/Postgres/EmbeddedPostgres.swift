import Foundation
import Glibc
import Logging

/// A private PostgreSQL cluster in a folder of Soot's own, started with the machine's `initdb` and `pg_ctl`.
/// It listens only on a Unix socket inside that folder (no TCP port). When Soot runs as root, the cluster
/// runs as an unprivileged user (`postgres` if it exists, else `nobody`), because PostgreSQL refuses root.
public final class EmbeddedPostgres: Sendable {
    /// Why the cluster could not be prepared or started, with what to do about it.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// The data folder: `cluster/` holds PostgreSQL's files, `run/` its socket, `postgres.log` its log.
    public let folder: URL
    public let binaries: URL
    public let database: String
    /// The cluster's superuser, made by `initdb` (the application's own name, say).
    public let user: String
    /// The unprivileged account the cluster runs as when we are root; nil otherwise.
    public let runAs: String?
    private let logger: Logger

    public var clusterFolder: URL { folder.appendingPathComponent("cluster") }
    public var socketFolder: URL { folder.appendingPathComponent("run") }
    public var logFile: URL { folder.appendingPathComponent("postgres.log") }
    /// Held exclusively while the cluster is created, started or stopped, so two processes never race on it.
    var lifecycleLockFile: URL { folder.appendingPathComponent("lifecycle.lock") }
    /// Held shared by every process that uses the cluster; whoever can take it exclusively is the last user.
    var useLockFile: URL { folder.appendingPathComponent("in-use.lock") }
    public var pidFile: URL { clusterFolder.appendingPathComponent("postmaster.pid") }

    /// The libpq connection string for the cluster.
    public var connectionURL: String {
        "host=\(socketFolder.path) dbname=\(database) user=\(user)"
    }

    /// Finds the PostgreSQL binaries; throws with install advice when they are missing.
    public init(folder: URL, database: String, user: String, logger: Logger = Logger(label: "postgres.cluster")) throws {
        self.folder = folder.standardizedFileURL
        self.database = database
        self.user = user
        self.logger = logger
        guard let binaries = EmbeddedPostgres.findBinaries() else {
            throw Failure(description: """
                PostgreSQL's server programs (initdb, pg_ctl) were not found in PATH or /usr/lib/postgresql/*/bin.
                Install them, for example on Debian or Ubuntu:  sudo apt-get install postgresql
                or set DATABASE_URL to use an existing PostgreSQL server.
                """)
        }
        self.binaries = binaries
        runAs = getuid() == 0 ? EmbeddedPostgres.unprivilegedUser() : nil
    }

    /// `PATH` first, then the newest `/usr/lib/postgresql/N/bin`.
    public static func findBinaries() -> URL? {
        let fileManager = FileManager.default
        for entry in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let directory = URL(fileURLWithPath: String(entry))
            if fileManager.isExecutableFile(atPath: directory.appendingPathComponent("initdb").path),
               fileManager.isExecutableFile(atPath: directory.appendingPathComponent("pg_ctl").path) {
                return directory
            }
        }
        let root = "/usr/lib/postgresql"
        let versions = ((try? fileManager.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted(by: >)
        for version in versions {
            let directory = URL(fileURLWithPath: "\(root)/\(version)/bin")
            if fileManager.isExecutableFile(atPath: directory.appendingPathComponent("pg_ctl").path) { return directory }
        }
        return nil
    }

    static func unprivilegedUser() -> String {
        getpwnam("postgres") != nil ? "postgres" : "nobody"
    }

    /// One process's use of the cluster: a shared lock on the data folder, given back by `release(_:)`.
    public final class Use: Sendable {
        let lock: FileLock
        init(lock: FileLock) { self.lock = lock }
    }

    /// Starts the cluster if it is not running (creating it if needed) and records this process as a user of it.
    /// Creation and start happen under the folder's lifecycle lock: two processes starting on a fresh folder
    /// take turns, and the second finds the cluster the first made.
    public func acquire() throws -> Use {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let lifecycle = try FileLock(lifecycleLockFile, exclusive: true)
        defer { lifecycle.unlock() }
        try startLocked()
        return Use(lock: try FileLock(useLockFile, exclusive: false))
    }

    /// Gives up this process's use of the cluster, and stops the cluster when no other process uses it. A second
    /// `soot serve` that fails to bind, or a `soot migrate` beside a running server, leaves the server's database
    /// alone.
    public func release(_ use: Use) {
        guard let lifecycle = try? FileLock(lifecycleLockFile, exclusive: true) else { return }
        defer { lifecycle.unlock() }
        use.lock.unlock()
        guard let last = try? FileLock(useLockFile, exclusive: true, wait: false) else {
            logger.info("embedded PostgreSQL left running: another process uses it", metadata: ["folder": "\(folder.path)"])
            return
        }
        defer { last.unlock() }
        stop()
    }

    /// Creates the cluster if needed, starts it if it is not running, and creates the database.
    public func start() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let lifecycle = try FileLock(lifecycleLockFile, exclusive: true)
        defer { lifecycle.unlock() }
        try startLocked()
    }

    /// Starts a cluster that is down (after a crash, a `kill -9`, a full disk), under the lifecycle lock. Returns
    /// true when it started it, false when it was running.
    public func restartIfDown() throws -> Bool {
        let lifecycle = try FileLock(lifecycleLockFile, exclusive: true)
        defer { lifecycle.unlock() }
        if isRunning() { return false }
        try startLocked()
        return true
    }

    private func startLocked() throws {
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: folder, withIntermediateDirectories: true)
        try fileManager.createDirectory(at: socketFolder, withIntermediateDirectories: true)
        if socketFolder.path.utf8.count > 90 {
            throw Failure(description: "the data folder path \(folder.path) is too long for a Unix socket; choose a shorter data folder")
        }
        if let user = runAs {
            try checkReachable(by: user)
            try run("/bin/chown", ["-R", user, folder.path], as: .current)
        }
        _ = chmod(folder.path, 0o700)
        _ = chmod(socketFolder.path, 0o700)
        if !fileManager.fileExists(atPath: clusterFolder.appendingPathComponent("PG_VERSION").path) {
            logger.info("creating the embedded PostgreSQL cluster", metadata: ["folder": "\(clusterFolder.path)"])
            try run(binaries.appendingPathComponent("initdb").path, [
                "-D", clusterFolder.path, "-U", user, "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync",
            ])
        }
        try checkStalePidFile()
        if !isRunning() {
            // listen_addresses='' : no TCP at all; the socket lives in our private folder.
            // Checkpoints at most every 15 minutes or 4 GB of WAL (PostgreSQL's defaults: 5 minutes, 1 GB): under
            // sustained ingest a checkpoint makes the next change of every page log a whole 8 KB image of it, so
            // checkpointing often multiplies the WAL written per sample and stalls commits while it lasts.
            // The background writer cleans up to 1,000 buffers every 50 ms (defaults: 100 every 200 ms, 4 MB/s), so
            // the ingest writers rarely have to write out a dirty buffer themselves, between two fsyncs, to make
            // room: after a bulk write (an import) had filled the shared buffers, that put p99 spikes of 50-75 ms
            // into the ingest benchmark's later rounds.
            let options = "-c listen_addresses='' -k \(socketFolder.path) -c unix_socket_permissions=0700 -c max_connections=200"
                + " -c max_wal_size=4GB -c checkpoint_timeout=15min"
                + " -c bgwriter_delay=50ms -c bgwriter_lru_maxpages=1000 -c bgwriter_lru_multiplier=4"
            try run(binaries.appendingPathComponent("pg_ctl").path, [
                "-D", clusterFolder.path, "-l", logFile.path, "-o", options, "-w", "-t", "60", "start",
            ])
            logger.info("embedded PostgreSQL started", metadata: ["socket": "\(socketFolder.path)"])
        } else {
            logger.info("embedded PostgreSQL already running; reusing it", metadata: ["folder": "\(clusterFolder.path)"])
        }
        try createDatabase(database)
    }

    /// Creates `name` if it does not exist (connecting to the `postgres` maintenance database).
    public func createDatabase(_ name: String, template: String? = nil) throws {
        let admin = try DatabaseConnection(url: "host=\(socketFolder.path) dbname=postgres user=\(user)")
        defer { admin.close() }
        let exists = try admin.query("SELECT 1 FROM pg_database WHERE datname = \(name)").rowCount > 0
        if !exists {
            let quoted = "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            let templateClause = template.map { " TEMPLATE \"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" } ?? ""
            try admin.execute("CREATE DATABASE \(quoted)\(templateClause)")
        }
    }

    /// The connection string for another database in the same cluster.
    public func connectionURL(database name: String) -> String {
        "host=\(socketFolder.path) dbname=\(name) user=\(user)"
    }

    /// True when the process named in `postmaster.pid` is alive and is PostgreSQL (a cheap check: no program
    /// is run, so a watchdog may call it every second).
    public func isRunning() -> Bool {
        guard let pid = postmasterPID() else { return false }
        return EmbeddedPostgres.isAlive(pid) && EmbeddedPostgres.isPostgres(pid)
    }

    /// The PID on the first line of `postmaster.pid`, if the file is there.
    public func postmasterPID() -> pid_t? {
        guard let text = try? String(contentsOf: pidFile, encoding: .utf8),
              let line = text.split(separator: "\n").first, let pid = Int32(line.trimmingCharacters(in: .whitespaces)), pid > 0
        else { return nil }
        return pid
    }

    static func isAlive(_ pid: pid_t) -> Bool {
        Glibc.kill(pid, 0) == 0 || errno == EPERM
    }

    /// Whether `pid` runs PostgreSQL's server (`/proc/PID/comm` is `postgres`, or `postmaster` on older builds).
    static func isPostgres(_ pid: pid_t) -> Bool {
        guard let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) else { return true }
        let name = comm.trimmingCharacters(in: .whitespacesAndNewlines)
        return name == "postgres" || name == "postmaster"
    }

    /// A `postmaster.pid` left by a crash whose PID now belongs to another program: PostgreSQL would refuse to
    /// start ("is another postmaster running?") and Soot would reuse a server that is not there. Says what to do.
    private func checkStalePidFile() throws {
        guard let pid = postmasterPID(), EmbeddedPostgres.isAlive(pid), !EmbeddedPostgres.isPostgres(pid) else { return }
        let comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "?"
        throw Failure(description: """
            \(pidFile.path) names process \(pid) (\(comm)), which is not PostgreSQL: the file is left from a cluster \
            that crashed, and its process number has been reused. Make sure no PostgreSQL uses \(clusterFolder.path), \
            remove \(pidFile.path), and start again.
            """)
    }

    /// Stops the cluster (fast mode: running transactions roll back, committed data is safe). Prefer
    /// `release(_:)`, which stops it only when no other process uses it.
    public func stop() {
        guard isRunning() else { return }
        do {
            try run(binaries.appendingPathComponent("pg_ctl").path, ["-D", clusterFolder.path, "-m", "fast", "-w", "stop"])
            logger.info("embedded PostgreSQL stopped")
        } catch {
            logger.error("could not stop the embedded PostgreSQL", metadata: ["error": "\(error)"])
        }
    }

    /// Stops the cluster abruptly (immediate mode), as a crash would; for durability tests.
    public func kill() {
        _ = try? run(binaries.appendingPathComponent("pg_ctl").path, ["-D", clusterFolder.path, "-m", "immediate", "-w", "stop"], quiet: true)
    }

    /// Every folder above the data folder must be searchable by the unprivileged user.
    private func checkReachable(by user: String) throws {
        var directory = folder.deletingLastPathComponent()
        while directory.path != "/" {
            do {
                try run("/usr/bin/test", ["-x", directory.path], as: .named(user), quiet: true)
            } catch {
                throw Failure(description: """
                    PostgreSQL must run as the unprivileged user '\(user)' (it refuses root), but '\(user)' cannot \
                    enter \(directory.path). Choose a data folder it can reach (under /var/lib, for example).
                    """)
            }
            directory = directory.deletingLastPathComponent()
        }
    }

    /// Whose account a helper program runs under.
    enum Account {
        /// The cluster's owner: `runAs` when we are root, else ourselves.
        case cluster
        case current
        case named(String)
    }

    /// Runs a program, waiting for it; throws with its output when it fails.
    @discardableResult
    func run(_ program: String, _ arguments: [String], as account: Account = .cluster, quiet: Bool = false) throws -> String {
        let user: String?
        switch account {
        case .cluster: user = runAs
        case .current: user = nil
        case .named(let name): user = name
        }
        let executable = user == nil ? program : "/usr/sbin/runuser"
        let argumentList = user.map { ["-u", $0, "--", program] + arguments } ?? arguments
        let (status, text) = try Subprocess.run(executable, arguments: argumentList)
        if status != 0 {
            if !quiet { logger.error("command failed", metadata: ["program": "\(program)", "output": "\(text)"]) }
            throw Failure(description: "\(URL(fileURLWithPath: program).lastPathComponent) failed (exit \(status)): \(text.suffix(2000))")
        }
        return text
    }
}
