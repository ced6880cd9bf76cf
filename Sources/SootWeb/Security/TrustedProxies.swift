import SootStore
import Glibc
import HTTPServer

/// The proxies (load balancers, nginx) whose `X-Forwarded-For` and `X-Forwarded-Proto` Soot believes.
///
/// A client can write any `X-Forwarded-For` it likes, so the header counts only when the peer that sent it is
/// named here; then the client is the right-most address in the header that is not itself a trusted proxy.
/// Without trusted proxies the peer is the client, whatever the headers say.
package struct TrustedProxies: Sendable {
    /// One address or network: 16 bytes (IPv4 as IPv4-mapped IPv6) and a prefix length out of 128.
    struct Network: Sendable, Equatable {
        let bytes: [UInt8]
        let prefix: Int

        func contains(_ address: [UInt8]) -> Bool {
            var remaining = prefix
            for index in 0..<16 where remaining > 0 {
                let bits = min(8, remaining)
                let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
                if address[index] & mask != bytes[index] & mask { return false }
                remaining -= bits
            }
            return true
        }
    }

    let networks: [Network]

    package static let none = TrustedProxies(networks: [])

    init(networks: [Network]) { self.networks = networks }

    /// Parses a comma-separated list of addresses and CIDR networks (`10.0.0.0/8, 127.0.0.1, ::1, fd00::/8`);
    /// nil with the offending entry when one is not an address.
    package static func parse(_ text: String) -> Result<TrustedProxies, ParseFailure> {
        var networks: [Network] = []
        for entry in text.split(separator: ",").map({ $0.trimmingOWS() }) where !entry.isEmpty {
            let parts = entry.split(separator: "/", maxSplits: 1).map(String.init)
            guard let bytes = TrustedProxies.address(parts[0]) else { return .failure(ParseFailure(entry: entry)) }
            let isV4 = !parts[0].contains(":")
            var prefix = 128
            if parts.count == 2 {
                guard parts[1].utf8.count <= 3, parts[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let bits = Int(parts[1]),
                      bits <= (isV4 ? 32 : 128) else { return .failure(ParseFailure(entry: entry)) }
                prefix = isV4 ? 96 + bits : bits
            }
            networks.append(Network(bytes: bytes, prefix: prefix))
        }
        return .success(TrustedProxies(networks: networks))
    }

    package struct ParseFailure: Error, CustomStringConvertible {
        package let entry: String
        package var description: String { "'\(entry)' is not an IP address or a network such as 10.0.0.0/8" }
    }

    /// 16 bytes for an IPv4 or IPv6 literal (IPv4 mapped into IPv6), nil otherwise.
    static func address(_ text: String) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: 16)
        if text.contains(":") {
            let ok = bytes.withUnsafeMutableBytes { inet_pton(AF_INET6, text, $0.baseAddress) == 1 }
            return ok ? bytes : nil
        }
        var four = [UInt8](repeating: 0, count: 4)
        guard four.withUnsafeMutableBytes({ inet_pton(AF_INET, text, $0.baseAddress) == 1 }) else { return nil }
        bytes[10] = 0xFF
        bytes[11] = 0xFF
        bytes.replaceSubrange(12..<16, with: four)
        return bytes
    }

    func trusts(_ text: String) -> Bool {
        guard !networks.isEmpty, let bytes = TrustedProxies.address(text) else { return false }
        return networks.contains { $0.contains(bytes) }
    }

    /// The client's address: the peer, or, when the peer is a trusted proxy, the right-most `X-Forwarded-For`
    /// entry that is not a trusted proxy (a malformed entry ends the walk: the proxy before it is the client).
    package func clientAddress(_ request: Request) -> String {
        let peer = request.remoteAddress
        guard trusts(peer) else { return peer }
        let forwarded = request.headers.values("X-Forwarded-For").joined(separator: ",")
        var client = peer
        for entry in forwarded.split(separator: ",").reversed() {
            let candidate = entry.trimmingOWS()
            guard TrustedProxies.address(candidate) != nil else { break }
            client = candidate
            if !trusts(candidate) { break }
        }
        return client
    }

    /// The address the browser used (`https://soot.example.com`), for links and snippets people copy.
    package func baseURL(_ request: Request) -> String {
        (isHTTPS(request) ? "https://" : "http://") + (request.head.authority ?? "localhost:8080")
    }

    /// True when the client reached Soot over HTTPS: said by a trusted proxy's `X-Forwarded-Proto`.
    package func isHTTPS(_ request: Request) -> Bool {
        guard trusts(request.remoteAddress), let proto = request.headers.values("X-Forwarded-Proto").last else { return false }
        let last = proto.split(separator: ",").last.map { $0.trimmingOWS().lowercased() }
        return last == "https"
    }
}
