import Foundation

/// Access tokens: `soot_pat_<43 random chars>` (personal) and `soot_prj_<43 random chars>` (project ingest).
/// Only a SHA-256 of the whole token is stored, with its first 12 characters after the kind as a lookup prefix.
package enum TokenFormat {
    package enum Kind: String, Sendable {
        case personal = "pat"
        case project = "prj"

        package var databaseValue: String { self == .personal ? "personal" : "project" }
    }

    /// A new random token (256 bits of entropy).
    package static func generate(_ kind: Kind) -> String {
        "soot_\(kind.rawValue)_" + Crypto.randomToken(bytes: 32)
    }

    /// The kind and lookup prefix of a well-formed token, nil for anything else.
    package static func parse(_ token: String) -> (kind: Kind, prefix: String)? {
        guard let kind = kind(of: token) else { return nil }
        return (kind, prefix(of: token))
    }

    /// The kind of a well-formed token, nil for anything else (checked on bytes, nothing built: this runs for
    /// every ingest request).
    package static func kind(of token: String) -> Kind? {
        var token = token
        return token.withUTF8 { bytes -> Kind? in
            guard bytes.count >= 30, bytes.count <= 100, bytes[0] == UInt8(ascii: "s"), bytes[1] == UInt8(ascii: "o"),
                  bytes[2] == UInt8(ascii: "o"), bytes[3] == UInt8(ascii: "t"), bytes[4] == UInt8(ascii: "_"),
                  bytes[8] == UInt8(ascii: "_") else { return nil }
            let kind: Kind
            switch (bytes[5], bytes[6], bytes[7]) {
            case (UInt8(ascii: "p"), UInt8(ascii: "a"), UInt8(ascii: "t")): kind = .personal
            case (UInt8(ascii: "p"), UInt8(ascii: "r"), UInt8(ascii: "j")): kind = .project
            default: return nil
            }
            for byte in bytes[9...] {
                let ok = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2D || byte == 0x5F
                if !ok { return nil }
            }
            return kind
        }
    }

    /// What is shown in token lists: `soot_prj_AbCdEfGhIjKl`.
    package static func prefix(of token: String) -> String { String(token.prefix(9 + 12)) }

    /// The stored hash of a token.
    package static func hash(_ token: String) -> String { Crypto.sha256Hex(token) }

    /// The same SHA-256 as `hash`, as a value: what the token cache is keyed by (no hex text per request).
    package static func digest(_ token: String) -> Crypto.Digest { Crypto.sha256Digest(token) }
}
