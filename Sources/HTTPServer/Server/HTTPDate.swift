import CEventPoll
import Glibc

/// IMF-fixdate formatting (RFC 9110 section 5.6.7), cached per second by each event loop.
struct HTTPDate {
    private var second: time_t = -1
    private(set) var bytes: [UInt8] = []

    /// The `Date` value for now, recomputed once a second.
    mutating func current() -> [UInt8] {
        let now = time(nil)
        if now != second {
            second = now
            bytes = Array(HTTPDate.format(now).utf8)
        }
        return bytes
    }

    static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `Sun, 06 Nov 1994 08:49:37 GMT` for a Unix time.
    static func format(_ time: time_t) -> String {
        var t = time
        var parts = tm()
        gmtime_r(&t, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(1900 + parts.tm_year) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }

    /// Parses an IMF-fixdate back to Unix time (for `If-Modified-Since`).
    static func parse(_ text: String) -> time_t? {
        var parts = tm()
        let consumed = text.withCString { strptime($0, "%a, %d %b %Y %H:%M:%S GMT", &parts) }
        guard consumed != nil else { return nil }
        return timegm(&parts)
    }
}
