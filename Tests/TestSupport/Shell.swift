import Foundation

/// Runs a program to completion for tests: stdin from /dev/null, stdout and stderr captured through files
/// (never pipes a child could keep open).
public enum Shell {
    public struct Outcome: Sendable {
        public let status: Int32
        public let output: String
        public let errors: String
    }

    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
        let base = NSTemporaryDirectory() + "soot-shell-\(getpid())-\(UUID().uuidString)"
        let outPath = base + ".out", errPath = base + ".err"
        defer {
            unlink(outPath)
            unlink(errPath)
        }
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
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exit: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return Outcome(status: exit,
                       output: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                       errors: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
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
