#if canImport(Glibc)
import Glibc
#endif

/// A failed system call, with the operation that failed and the `errno` it set.
public struct SocketError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The system call or step that failed, for example `"bind"`.
    public let operation: String
    /// The `errno` value at the time of failure.
    public let code: Int32

    public init(_ operation: String, code: Int32) {
        self.operation = operation
        self.code = code
    }

    /// Captures the current `errno` for `operation`.
    public static func last(_ operation: String) -> SocketError {
        SocketError(operation, code: errno)
    }

    public var description: String {
        "\(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
    }
}
