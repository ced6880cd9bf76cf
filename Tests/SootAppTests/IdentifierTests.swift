import Foundation
@testable import SootStore
@testable import SootWeb
import Testing

/// Sample ids: UUIDv7 (RFC 9562) with their random bits from a pooled buffer of OpenSSL randomness.
@Suite struct IdentifierTests {
    @Test func sampleIDsAreVersion7WithTheirMillisecondAndDistinct() {
        let milliseconds: UInt64 = 1_795_000_000_123
        // 5,000 ids take 50,000 random bytes: the 4 KiB pool is refilled a dozen times on the way.
        let ids = (0..<5_000).map { _ in UUIDv7.make(milliseconds: milliseconds) }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            let bytes = withUnsafeBytes(of: id.uuid) { Array($0) }
            #expect(bytes[0..<6].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } == milliseconds)
            #expect(bytes[6] >> 4 == 7)
            #expect(bytes[8] >> 6 == 0b10)
        }
        // The random part is not constant: each of its 74 bits takes both values across the ids.
        var ones = [Int](repeating: 0, count: 128)
        for id in ids {
            withUnsafeBytes(of: id.uuid) { raw in for bit in 0..<128 where raw[bit / 8] >> (7 - bit % 8) & 1 == 1 { ones[bit] += 1 } }
        }
        let randomBits = Array(52..<64) + Array(66..<128)  // after the 48-bit time and 4-bit version; after the variant
        for bit in randomBits { #expect(ones[bit] > 2_000 && ones[bit] < 3_000, "bit \(bit)") }
        // Later milliseconds sort later, as PostgreSQL orders uuids (bytewise).
        let later = UUIDv7.make(milliseconds: milliseconds + 1)
        #expect(SampleWriter.precedes(ids[0], later))
    }

    /// The 201 of an ingested sample is written without JSONValue: it must be the same bytes.
    @Test func theCreatedAnswerIsTheSampleIDAsJSON() throws {
        for _ in 0..<100 {
            let id = UUIDv7.make()
            let response = IngestService.created(id)
            guard case .bytes(let body) = response.body else { Issue.record("not a byte body"); return }
            #expect(body == JSONValue.id(id).bytes)
            #expect(JSONValue.parse(body) == .string(id.uuidString.lowercased()))
            #expect(response.status == .created)
            #expect(response.headers["Content-Type"] == "application/json")
        }
    }
}
