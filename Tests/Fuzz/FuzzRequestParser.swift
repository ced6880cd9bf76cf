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
    let (messages, error) = RequestParser.messages(in: bytes, step: step, limits: limits, bodyLimit: 8192, streaming: streaming)
    var outcome = Outcome()
    outcome.messages = messages.map { head, body in
        "\(head.method) \(head.path) \(head.query ?? "") \(head.headers.count) \(head.framing) body=\(body.count)"
    }
    outcome.error = error?.status.code
    return outcome
}
