import Foundation
@testable import SootStore
@testable import SootWeb
import Testing

@Suite struct SecurityTests {
    @Test func passwordHashesVerifyAndAreSalted() {
        let first = PasswordHasher.hash("correct horse battery", iterations: 1000)
        let second = PasswordHasher.hash("correct horse battery", iterations: 1000)
        #expect(first != second)
        #expect(first.hasPrefix("pbkdf2-sha256$1000$"))
        #expect(PasswordHasher.verify("correct horse battery", against: first))
        #expect(!PasswordHasher.verify("correct horse batterz", against: first))
        #expect(!PasswordHasher.verify("anything", against: "garbage"))
        #expect(PasswordHasher.defaultIterations == 600_000)
    }

    @Test func pbkdf2MatchesTheRFC7914TestVector() {
        // RFC 7914 section 11: PBKDF2-HMAC-SHA256, P="passwd", S="salt", c=1, dkLen=64.
        let derived = Crypto.pbkdf2SHA256(password: "passwd", salt: Array("salt".utf8), iterations: 1, length: 64)
        #expect(Crypto.hex(derived) == "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
            + "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783")
        #expect(Crypto.sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func tokensHaveAKindAPrefixAndEnoughEntropy() throws {
        let token = TokenFormat.generate(.project)
        let (kind, prefix) = try #require(TokenFormat.parse(token))
        #expect(kind == .project)
        #expect(prefix == String(token.prefix(21)))
        #expect(token.count >= 52)
        #expect(TokenFormat.generate(.personal) != TokenFormat.generate(.personal))
        #expect(TokenFormat.parse("soot_xyz_abcdefghijklmnopqrstuvwxyz") == nil)
        #expect(TokenFormat.parse("soot_pat_abc\"; DROP TABLE users;--xxxxxxxxxxxx") == nil)
        #expect(TokenFormat.parse("Bearer") == nil)
        // The byte-level check agrees on edges: length bounds, the prefix, the kind, the separator, the alphabet.
        let body = String(repeating: "a", count: 21)
        for (text, kind) in [("soot_pat_" + body, TokenFormat.Kind.personal), ("soot_prj_" + body, .project),
                             ("soot_prj_" + String(repeating: "Z9-_", count: 22) + "ab", .project)] {
            #expect(TokenFormat.kind(of: text) == kind, "\(text)")
        }
        for text in ["soot_pat_" + String(body.dropLast()), "soot_pat_" + String(repeating: "a", count: 92), "Soot_pat_" + body,
                     "soot-pat_" + body, "soot_pax_" + body, "soot_pat-" + body, "soot_pat_" + body + "=", "soot_pat_" + body + "\u{e9}",
                     "soot_pat_" + body + " "] {
            #expect(TokenFormat.kind(of: text) == nil, "\(text)")
            #expect(TokenFormat.parse(text) == nil, "\(text)")
        }
    }

    @Test func constantTimeComparison() {
        #expect(Crypto.constantTimeEquals("abc", "abc"))
        #expect(!Crypto.constantTimeEquals("abc", "abd"))
        #expect(!Crypto.constantTimeEquals("abc", "abcd"))
    }

    @Test func emailsAndSlugs() {
        #expect(Accounts.validEmail(" a@b.c ") == "a@b.c")
        #expect(Accounts.validEmail("no-at-sign") == nil)
        #expect(Accounts.validEmail("a b@c.d") == nil)
        #expect(Accounts.validEmail("<script>@x") == nil)
        #expect(Naming.slug("Vision & Speech — 2026!") == "vision-speech-2026")
        #expect(Naming.slug("日本").hasPrefix("n-"))
    }

    @Test func safeRedirectsStayLocal() {
        #expect(LoginRoutes.safeNext("/teams/1") == "/teams/1")
        #expect(LoginRoutes.safeNext("//evil.example") == "/")
        #expect(LoginRoutes.safeNext("https://evil.example") == "/")
        #expect(LoginRoutes.safeNext("/\\evil.example") == "/")
        #expect(LoginRoutes.safeNext(nil) == "/")
    }

    @Test func tokenDigestsAreTheStoredHash() {
        var seen = Set<Crypto.Digest>()
        for kind in [TokenFormat.Kind.project, .personal] {
            for _ in 0..<200 {
                let token = TokenFormat.generate(kind)
                let digest = TokenFormat.digest(token)
                #expect(Crypto.hex(digest.bytes) == TokenFormat.hash(token))
                #expect(digest == TokenFormat.digest(String(token)))
                #expect(seen.insert(digest).inserted)
            }
        }
        // One changed character anywhere changes the digest.
        let token = TokenFormat.generate(.project)
        var bytes = Array(token.utf8)
        bytes[bytes.count - 1] = bytes[bytes.count - 1] == UInt8(ascii: "a") ? UInt8(ascii: "b") : UInt8(ascii: "a")
        #expect(TokenFormat.digest(String(decoding: bytes, as: UTF8.self)) != TokenFormat.digest(token))
    }

    @Test func isoTimestamps() throws {
        let date = try #require(ISOTime.parse("2026-11-29T10:20:30.25+02:00"))
        #expect(date.timeIntervalSince1970 == 1_795_940_430.25)
        #expect(ISOTime.parse("2026-11-29T08:20:30.25Z") == date)
        #expect(ISOTime.parse("2026-11-29T08:20:30.250000") == date)
        #expect(ISOTime.parse("2026-13-29T08:20:30Z") == nil)
        #expect(ISOTime.parse("yesterday") == nil)
        #expect(ISOTime.format(date) == "2026-11-29T08:20:30.250000+00:00")
    }
}
