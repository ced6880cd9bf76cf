import Foundation
import Glibc

/// An advisory lock on a file (`flock`): shared or exclusive, held until `unlock()` or until the process ends
/// (a crashed process never leaves it held). Locks of two separate opens conflict even within one process.
final class FileLock: Sendable {
    /// Whose failure to lock a file, with errno's text.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    // Safety: written by `unlock()` only, which each owner calls once.
    nonisolated(unsafe) private var descriptor: Int32

    /// Opens (creating) `url` and locks it; with `wait` false, throws at once when another holder conflicts.
    init(_ url: URL, exclusive: Bool, wait: Bool = true) throws {
        let fd = open(url.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot open \(url.path): \(String(cString: strerror(errno)))") }
        var operation = exclusive ? LOCK_EX : LOCK_SH
        if !wait { operation |= LOCK_NB }
        var rc: Int32
        repeat { rc = flock(fd, operation) } while rc != 0 && errno == EINTR
        guard rc == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "cannot lock \(url.path): \(message)")
        }
        descriptor = fd
    }

    /// Releases the lock (idempotent).
    func unlock() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    deinit { unlock() }
}
