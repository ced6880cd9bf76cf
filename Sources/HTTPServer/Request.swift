/// A complete request: its head, its whole body, the route's path parameters and the peer.
public struct Request: Sendable {
    public let head: RequestHead
    public let body: [UInt8]
    /// Path parameters captured by the route pattern (`:id`), percent-decoded.
    public var parameters: [String: String]
    /// The peer's numeric address.
    public let remoteAddress: String
    /// When the request head was complete (monotonic nanoseconds).
    public let receivedAt: UInt64
    /// The request's id, as sent back in `X-Request-Id` (see `RequestID`).
    public internal(set) var id: String = ""
    /// True while an `inline` handler runs on the event loop thread (it must not block there).
    public internal(set) var onEventLoop = false
    /// For routes with `RouteOptions.streamsBody`: the body, read in parts as it arrives (`body` is then empty).
    public internal(set) var bodyStream: RequestBodyStream?

    public init(
        head: RequestHead, body: [UInt8] = [], parameters: [String: String] = [:],
        remoteAddress: String = "", receivedAt: UInt64 = 0
    ) {
        self.head = head
        self.body = body
        self.parameters = parameters
        self.remoteAddress = remoteAddress
        self.receivedAt = receivedAt
    }

    public var method: HTTPMethod { head.method }
    public var path: String { head.path }
    public var headers: HTTPHeaders { head.headers }

    /// A path parameter, if the route declared it.
    public func parameter(_ name: String) -> String? { parameters[name] }

    /// The decoded query items, in order (`+` is a space, as in HTML forms).
    public var queryItems: [(name: String, value: String)] {
        guard let query = head.query, !query.isEmpty else { return [] }
        return FormDecoding.pairs(query)
    }

    /// The first value of query item `name`.
    public func query(_ name: String) -> String? {
        queryItems.first { $0.name == name }?.value
    }

    /// The body as UTF-8 text.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// Fields of an `application/x-www-form-urlencoded` body.
    public var formFields: [(name: String, value: String)] { FormDecoding.pairs(bodyText) }

    /// The first value of form field `name`.
    public func formField(_ name: String) -> String? { formFields.first { $0.name == name }?.value }
}

/// Percent-decoding for paths, queries and form bodies.
public enum FormDecoding {
    /// Splits `a=1&b=2` into decoded pairs.
    public static func pairs(_ text: String) -> [(name: String, value: String)] {
        text.split(separator: "&", omittingEmptySubsequences: true).map { part in
            if let equals = part.firstIndex(of: "=") {
                return (decode(part[..<equals], plusIsSpace: true) ?? "",
                        decode(part[part.index(after: equals)...], plusIsSpace: true) ?? "")
            }
            return (decode(part, plusIsSpace: true) ?? "", "")
        }
    }

    /// Percent-decodes `text`; nil when a `%` is not followed by two hex digits or the result is not UTF-8.
    public static func decode<S: StringProtocol>(_ text: S, plusIsSpace: Bool = false) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == 0x25 {
                guard let high = iterator.next().flatMap(CharacterClass.hexValue),
                      let low = iterator.next().flatMap(CharacterClass.hexValue) else { return nil }
                bytes.append(high << 4 | low)
            } else if byte == 0x2B && plusIsSpace {
                bytes.append(0x20)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Percent-encodes everything but unreserved characters (RFC 3986 section 2.3).
    public static func encode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            let unreserved = (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A)
                || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x2E || byte == 0x5F || byte == 0x7E
            if unreserved {
                result.unicodeScalars.append(UnicodeScalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                result += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return result
    }
}
