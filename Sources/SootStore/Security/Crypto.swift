import COpenSSL
import Foundation
import Synchronization

/// Hashing, random tokens and password hashing through OpenSSL's libcrypto.
package enum Crypto {
    /// SHA-256, fetched from the provider once: the one-shot `SHA256()` looks the algorithm up by name on every
    /// call, which cost more than hashing a token (it is hashed on every ingest request).
    private static let sha256Algorithm = Algorithm(EVP_MD_fetch(nil, "SHA256", nil))

    private struct Algorithm: @unchecked Sendable {
        // Safety: an EVP_MD fetched once and never freed is immutable and usable from any thread.
        let pointer: OpaquePointer?
        init(_ pointer: OpaquePointer?) {
            precondition(pointer != nil, "OpenSSL has no SHA256")
            self.pointer = pointer
        }
    }

    /// SHA-256 of `bytes`.
    package static func sha256(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let digest = bytes.withContiguousStorageIfAvailable { sha256Digest(UnsafeRawBufferPointer($0)) }
            ?? Array(bytes).withUnsafeBytes { sha256Digest($0) }
        return digest.bytes
    }

    /// A SHA-256 digest as four words: hashable and comparable without an allocation.
    package struct Digest: Hashable, Sendable {
        package var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

        package static func == (a: Digest, b: Digest) -> Bool {
            a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2 && a.words.3 == b.words.3
        }

        package func hash(into hasher: inout Hasher) {
            hasher.combine(words.0)
            hasher.combine(words.1)
            hasher.combine(words.2)
            hasher.combine(words.3)
        }

        /// The digest's 32 bytes in order.
        package var bytes: [UInt8] { withUnsafeBytes(of: words) { Array($0) } }
    }

    /// SHA-256 of UTF-8 text, as a `Digest`.
    package static func sha256Digest(_ text: String) -> Digest {
        var text = text
        return text.withUTF8 { sha256Digest(UnsafeRawBufferPointer($0)) }
    }

    /// SHA-256 of raw bytes: the one call into OpenSSL for every form above.
    private static func sha256Digest(_ input: UnsafeRawBufferPointer) -> Digest {
        var digest = Digest()
        withUnsafeMutableBytes(of: &digest.words) { out in
            var length: UInt32 = 0
            let ok = EVP_Digest(input.baseAddress, input.count, out.baseAddress, &length, sha256Algorithm.pointer, nil)
            precondition(ok == 1 && length == 32, "SHA-256 failed")
        }
        return digest
    }

    /// SHA-256 of UTF-8 text, as lowercase hex.
    package static func sha256Hex(_ text: String) -> String { hex(sha256Digest(text).bytes) }

    /// HMAC-SHA256 of `message` under `key`.
    package static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = key.withUnsafeBufferPointer { keyBuffer in
            message.withUnsafeBufferPointer { messageBuffer in
                HMAC(EVP_sha256(), keyBuffer.baseAddress, Int32(keyBuffer.count), messageBuffer.baseAddress,
                     messageBuffer.count, &digest, &length)
            }
        }
        return Array(digest.prefix(Int(length)))
    }

    /// Cryptographically random bytes from OpenSSL's DRBG.
    package static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let ok = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        precondition(ok == 1, "RAND_bytes failed")
        return bytes
    }

    /// Random bytes for identifiers (not secrets): drawn from OpenSSL 4 KiB at a time, so an id costs a copy under
    /// a lock instead of a `RAND_bytes` call each (one per ingested sample).
    package static func fillIdentifierBytes(_ destination: UnsafeMutableRawBufferPointer) {
        identifierPool.withLock { pool in
            if pool.position + destination.count > pool.bytes.count {
                let ok = pool.bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32($0.count)) }
                precondition(ok == 1, "RAND_bytes failed")
                pool.position = 0
            }
            pool.bytes.withUnsafeBytes { source in
                destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[pool.position..<(pool.position + destination.count)]))
            }
            pool.position += destination.count
        }
    }

    private static let identifierPool = Mutex((bytes: [UInt8](repeating: 0, count: 4096), position: 4096))

    /// A random token of `bytes` random bytes in URL-safe base64 without padding.
    package static func randomToken(bytes: Int = 32) -> String { base64URL(randomBytes(bytes)) }

    /// Constant-time comparison of two byte strings of equal length (false when lengths differ).
    package static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBufferPointer { left in
            b.withUnsafeBufferPointer { right in CRYPTO_memcmp(left.baseAddress, right.baseAddress, a.count) == 0 }
        }
    }

    /// Constant-time comparison of two strings.
    package static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        constantTimeEquals(Array(a.utf8), Array(b.utf8))
    }

    /// PBKDF2-HMAC-SHA256.
    package static func pbkdf2SHA256(password: String, salt: [UInt8], iterations: Int, length: Int = 32) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: length)
        let passwordBytes = Array(password.utf8)
        let ok = passwordBytes.withUnsafeBufferPointer { passwordBuffer in
            salt.withUnsafeBufferPointer { saltBuffer in
                output.withUnsafeMutableBufferPointer { out in
                    passwordBuffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: passwordBuffer.count) { chars in
                        PKCS5_PBKDF2_HMAC(chars, Int32(passwordBuffer.count), saltBuffer.baseAddress, Int32(saltBuffer.count),
                                          Int32(iterations), EVP_sha256(), Int32(length), out.baseAddress)
                    }
                }
            }
        }
        precondition(ok == 1, "PKCS5_PBKDF2_HMAC failed")
        return output
    }

    package static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    package static func fromHex(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        guard bytes.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(bytes.count / 2)
        var index = 0
        while index < bytes.count {
            guard let high = hexValue(bytes[index]), let low = hexValue(bytes[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: return byte - 0x30
        case 0x61...0x66: return byte - 0x61 + 10
        case 0x41...0x46: return byte - 0x41 + 10
        default: return nil
        }
    }

    package static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// Password hashes: PBKDF2-HMAC-SHA256, 600,000 iterations (OWASP 2023), 16-byte random salt, stored as
/// `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>` and verified in constant time.
package enum PasswordHasher {
    package static let defaultIterations = 600_000

    package static func hash(_ password: String, iterations: Int = defaultIterations) -> String {
        let salt = Crypto.randomBytes(16)
        let derived = Crypto.pbkdf2SHA256(password: password, salt: salt, iterations: iterations)
        return "pbkdf2-sha256$\(iterations)$\(Crypto.hex(salt))$\(Crypto.hex(derived))"
    }

    package static func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$")
        guard parts.count == 4, parts[0] == "pbkdf2-sha256", let iterations = Int(parts[1]), iterations > 0,
              iterations <= 10_000_000, let salt = Crypto.fromHex(String(parts[2])), let expected = Crypto.fromHex(String(parts[3]))
        else { return false }
        let derived = Crypto.pbkdf2SHA256(password: password, salt: salt, iterations: iterations, length: expected.count)
        return Crypto.constantTimeEquals(derived, expected)
    }

    /// A hash no password matches, checked anyway for unknown accounts so timing does not reveal them.
    package static let decoy: String = hash("decoy-\(Crypto.randomToken())", iterations: defaultIterations)
}
