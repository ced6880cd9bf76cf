// libFuzzer entry for the request parser. Built with the parser's sources by `run.sh`, outside SwiftPM.
//
// Each input is parsed twice: whole, and in pieces whose size comes from the first byte (its high bit also has
// the pieces' run deliver bodies in parts, as for streamed request bodies). Both runs must agree on every message
// and on the error, and nothing may crash, hang or read out of bounds (ASan is on).

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let step = Int((data[0] & 0x7F) % 17) + 1
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let whole = run(bytes, step: Int.max, streaming: false)
    let pieces = run(bytes, step: step, streaming: data[0] & 0x80 != 0)
    if whole != pieces {
        fatalError("split parsing disagrees: \(whole) vs \(pieces)")
    }
    return 0
}

struct Outcome: Equatable, CustomStringConvertible {
    var messages: [String] = []
    var error: Int?
    var description: String { "\(messages.count) messages, error \(error.map(String.init) ?? "none")" }
}

func run(_ bytes: [UInt8], step: Int, streaming: Bool) -> Outcome {
    var limits = RequestParser.Limits()
    limits.maximumHeaderBytes = 4096
    limits.maximumRequestLineBytes = 1024
    limits.maximumHeaderFieldBytes = 1024
    var parser = RequestParser(limits: limits)
    var pending: [UInt8] = []
    var outcome = Outcome()
    var current = ""
    var partBytes = 0
    var offset = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + min(step, bytes.count))
        pending += bytes[offset..<end]
        offset = end
        while true {
            do {
                let (event, consumed) = try pending.withUnsafeBytes { try parser.parse($0) }
                precondition(consumed >= 0 && consumed <= pending.count, "consumed out of range")
                pending.removeFirst(consumed)
                switch event {
                case .needMore:
                    if consumed == 0 { break }
                    continue
                case .head(let head):
                    parser.bodyLimit = 8192
                    parser.streamsBody = streaming
                    current = "\(head.method) \(head.path) \(head.query ?? "") \(head.headers.count) \(head.framing)"
                    continue
                case .body(let body):
                    outcome.messages.append(current + " body=\(partBytes + body.count)")
                    partBytes = 0
                    continue
                case .bodyPart(let part):
                    precondition(streaming && !part.isEmpty, "a part without streaming, or an empty part")
                    partBytes += part.count
                    continue
                }
                break
            } catch {
                outcome.error = (error as? ParseError)?.status.code ?? -1
                return outcome
            }
        }
    }
    return outcome
}
