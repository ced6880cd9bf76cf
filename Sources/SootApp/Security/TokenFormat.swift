import Foundation

/// Access tokens: `soot_pat_<43 random chars>` (personal) and `soot_prj_<43 random chars>` (project ingest).
/// Only a SHA-256 of the whole token is stored, with its first 12 characters after the kind as a lookup prefix.
public enum TokenFormat {
    public enum Kind: String, Sendable {
        case personal = "pat"
        case project = "prj"

        public var databaseValue: String { self == .personal ? "personal" : "project" }
    }

    /// A new random token (256 bits of entropy).
    public static func generate(_ kind: Kind) -> String {
        "soot_\(kind.rawValue)_" + Crypto.randomToken(bytes: 32)
    }

    /// The kind and lookup prefix of a well-formed token, nil for anything else.
    public static func parse(_ token: String) -> (kind: Kind, prefix: String)? {
        let bytes = Array(token.utf8)
        guard bytes.count >= 30, bytes.count <= 100, token.hasPrefix("soot_") else { return nil }
        let kindText = String(decoding: bytes[5..<8], as: UTF8.self)
        guard let kind = Kind(rawValue: kindText), bytes[8] == UInt8(ascii: "_") else { return nil }
        for byte in bytes[9...] {
            let ok = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == 0x2D || byte == 0x5F
            if !ok { return nil }
        }
        return (kind, prefix(of: token))
    }

    /// What is shown in token lists: `soot_prj_AbCdEfGhIjKl`.
    public static func prefix(of token: String) -> String { String(token.prefix(9 + 12)) }

    /// The stored hash of a token.
    public static func hash(_ token: String) -> String { Crypto.sha256Hex(token) }
}
