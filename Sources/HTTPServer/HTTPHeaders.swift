/// Header fields in the order they were received or added. Names compare case-insensitively;
/// repeated fields (several `Set-Cookie`) are kept as separate lines.
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral {
    public private(set) var fields: [(name: String, value: String)]

    public init() { fields = [] }
    /// Empty, with room for `minimumCapacity` fields (a parsed request's, without regrowing as they are added).
    public init(minimumCapacity: Int) {
        fields = []
        fields.reserveCapacity(minimumCapacity)
    }
    public init(_ fields: [(name: String, value: String)]) { self.fields = fields }
    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { (name: $0.0, value: $0.1) }
    }

    public var count: Int { fields.count }
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }

    /// The first value of `name`, if present.
    public subscript(name: String) -> String? {
        for field in fields where field.name.equalsIgnoringASCIICase(name) { return field.value }
        return nil
    }

    /// Every value of `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.compactMap { $0.name.equalsIgnoringASCIICase(name) ? $0.value : nil }
    }

    /// Adds a field line, keeping any existing ones of the same name.
    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    /// Replaces every field of `name` with one line.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        fields.append((name, value))
    }

    public mutating func remove(_ name: String) {
        fields.removeAll { $0.name.equalsIgnoringASCIICase(name) }
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    /// Comma-separated list members of every `name` line, trimmed and lowercased (RFC 9110 section 5.6.1).
    public func tokens(_ name: String) -> [String] { HTTPHeaders.tokens(of: values(name)) }

    /// Comma-separated list members of field values, trimmed and lowercased.
    public static func tokens(of values: [String]) -> [String] {
        var result: [String] = []
        for value in values {
            for part in value.split(separator: ",") {
                let token = part.trimmingOWS().lowercasedASCII()
                if !token.isEmpty { result.append(token) }
            }
        }
        return result
    }
}

extension StringProtocol {
    /// ASCII case-insensitive equality, without allocating.
    @inlinable
    public func equalsIgnoringASCIICase<Other: StringProtocol>(_ other: Other) -> Bool {
        if self.utf8.count != other.utf8.count { return false }
        // Native strings: compare their contiguous bytes (the iterators below cost several times more per byte).
        if let equal = self.utf8.withContiguousStorageIfAvailable({ left in
            other.utf8.withContiguousStorageIfAvailable { right -> Bool in
                for index in 0..<left.count where left[index] != right[index] {
                    let x = left[index], y = right[index]
                    if (x >= 65 && x <= 90 ? x | 0x20 : x) != (y >= 65 && y <= 90 ? y | 0x20 : y) { return false }
                }
                return true
            }
        }), let equal {
            return equal
        }
        var left = self.utf8.makeIterator()
        var right = other.utf8.makeIterator()
        while true {
            let a = left.next(), b = right.next()
            switch (a, b) {
            case (nil, nil): return true
            case (nil, _), (_, nil): return false
            case let (x?, y?):
                if x == y { continue }
                let lx = (x >= 65 && x <= 90) ? x | 0x20 : x
                let ly = (y >= 65 && y <= 90) ? y | 0x20 : y
                if lx != ly { return false }
            }
        }
    }

    /// Lowercases ASCII letters only (header names and tokens are ASCII).
    public func lowercasedASCII() -> String {
        String(decoding: utf8.map { ($0 >= 65 && $0 <= 90) ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// Removes spaces and horizontal tabs around the text (optional whitespace, RFC 9110 section 5.6.3).
    public func trimmingOWS() -> String {
        if let first = utf8.first, first != 0x20, first != 0x09 {
            let last = utf8[utf8.index(utf8.endIndex, offsetBy: -1)]
            if last != 0x20 && last != 0x09 { return String(self) }
        }
        let bytes = Array(utf8)
        var start = 0, end = bytes.count
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}
