import Synchronization

/// Request ids: every request gets one, sent back as `X-Request-Id` and given to the access log and error pages,
/// so a person's "it failed" can be found in the log. An id is 15 hex digits of a counter that starts at a random
/// point per process (no allocation: Swift keeps strings of 15 bytes inline), or the id a trusted proxy sent.
public enum RequestID {
    private static let counter = Atomic<UInt64>(UInt64.random(in: 0...(1 << 60)))
    private static let digits: StaticString = "0123456789abcdef"

    /// A new id.
    public static func next() -> String {
        let value = counter.wrappingAdd(1, ordering: .relaxed).oldValue
        return String(unsafeUninitializedCapacity: 15) { buffer in
            digits.withUTF8Buffer { hex in
                for index in 0..<15 { buffer[index] = hex[Int((value >> UInt64(4 * (14 - index))) & 0xF)] }
            }
            return 15
        }
    }

    /// Whether `text` may be kept as an id: 1 to 128 visible ASCII characters of letters, digits and `-_.:/+=@`.
    /// Anything else (spaces, quotes, control bytes, too long) is replaced by a new id rather than logged or echoed.
    public static func isAcceptable(_ text: String) -> Bool {
        let count = text.utf8.count
        guard count >= 1, count <= 128 else { return false }
        return text.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "/"), UInt8(ascii: "+"),
                 UInt8(ascii: "="), UInt8(ascii: "@"): true
            default: false
            }
        }
    }

    /// The id of a request with `head` from `peer`: the `X-Request-Id` it carries when `trusts(peer)` says the peer
    /// is a proxy whose ids are kept and the id is acceptable, a new one otherwise.
    static func of(_ head: RequestHead, peer: String, trusts: (@Sendable (String) -> Bool)?) -> String {
        if let trusts, let sent = head.headers["X-Request-Id"], isAcceptable(sent), trusts(peer) { return sent }
        return next()
    }
}
