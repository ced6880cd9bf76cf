import Foundation

/// Runs a program to completion for tests: stdin from /dev/null, stdout and stderr captured through files
/// (never pipes a child could keep open).
public enum Shell {
    public struct Outcome: Sendable {
        public let status: Int32
        public let output: String
        public let errors: String
    }

    /// A program started in the background; its output goes to files read by `output` and `errors`.
    public final class Child: @unchecked Sendable {
        // Safety: `status` is written by `wait()` only, from the thread that owns the child.
        public let pid: pid_t
        let outPath: String
        let errPath: String
        public private(set) var status: Int32?

        init(pid: pid_t, outPath: String, errPath: String) {
            self.pid = pid
            self.outPath = outPath
            self.errPath = errPath
        }

        public var output: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
        public var errors: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

        /// Sends `signal` (SIGTERM by default).
        public func signal(_ signal: Int32 = SIGTERM) { if status == nil { kill(pid, signal) } }

        /// Waits for the exit and returns its status (128 + signal when killed); at most `timeout` seconds, then
        /// SIGKILL.
        @discardableResult
        public func wait(timeout: Double = 60) -> Int32 {
            if let status { return status }
            let deadline = Date().addingTimeInterval(timeout)
            var raw: Int32 = 0
            while true {
                let rc = waitpid(pid, &raw, WNOHANG)
                if rc == pid { break }
                if rc < 0 && errno != EINTR { raw = 0; break }
                if Date() > deadline { kill(pid, SIGKILL) }
                usleep(20_000)
            }
            let exit: Int32 = (raw & 0x7F) == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
            status = exit
            return exit
        }

        /// True while the program runs.
        public var isRunning: Bool {
            if status != nil { return false }
            var raw: Int32 = 0
            let rc = waitpid(pid, &raw, WNOHANG)
            if rc == pid {
                status = (raw & 0x7F) == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
                return false
            }
            return true
        }

        deinit {
            if status == nil { kill(pid, SIGKILL); _ = wait(timeout: 5) }
            unlink(outPath)
            unlink(errPath)
        }
    }

    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
        let child = try start(executable, arguments, environment: environment)
        let status = child.wait(timeout: 600)
        return Outcome(status: status, output: child.output, errors: child.errors)
    }

    /// Starts a program in the background: stdin from /dev/null, stdout and stderr to files.
    public static func start(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Child {
        let base = NSTemporaryDirectory() + "soot-shell-\(getpid())-\(UUID().uuidString)"
        let outPath = base + ".out", errPath = base + ".err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // Test threads (Dispatch workers) block signals; a child must start with none blocked, or it never sees
        // SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGINT, SIGTERM, SIGPIPE, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw NSError(domain: "Shell", code: Int(rc), userInfo: [NSLocalizedDescriptionKey: "cannot run \(executable)"]) }
        return Child(pid: pid, outPath: outPath, errPath: errPath)
    }
}

/// The Python virtual environment with the real `codecarbon` client from PyPI (`make test` prepares it in
/// `.build/codecarbon-venv`; made here when missing). `SOOT_CODECARBON_VENV` points elsewhere.
public enum CodeCarbonClient {
    public static let version = "3.3.2"

    public static let venv: Result<String, Error> = {
        let path = ProcessInfo.processInfo.environment["SOOT_CODECARBON_VENV"]
            ?? TestDatabase.repositoryRoot.appendingPathComponent(".build/codecarbon-venv").path
        let python = path + "/bin/python"
        do {
            if !FileManager.default.fileExists(atPath: path + "/bin/codecarbon") {
                let made = try Shell.run("python3", ["-m", "venv", path])
                guard made.status == 0 else { throw failure("python3 -m venv failed: \(made.errors)") }
                let installed = try Shell.run(path + "/bin/pip", ["install", "--quiet", "codecarbon==\(version)"])
                guard installed.status == 0 else { throw failure("pip install codecarbon failed: \(installed.errors.suffix(2000))") }
            }
            let check = try Shell.run(python, ["-c", "import codecarbon; print(codecarbon.__version__)"])
            guard check.output.trimmingCharacters(in: .whitespacesAndNewlines) == version else {
                throw failure("expected codecarbon \(version), found \(check.output) \(check.errors)")
            }
            return .success(path)
        } catch {
            return .failure(error)
        }
    }()

    static func failure(_ message: String) -> NSError {
        NSError(domain: "CodeCarbonClient", code: 1, userInfo: [NSLocalizedDescriptionKey: message])
    }
}
