extension RequestParser {
    /// Every message in `bytes`, fed to a new parser `step` bytes at a time (1 = byte by byte) and keeping the
    /// unconsumed bytes as a connection does, with the first error if one stops it. With `streaming`, bodies are
    /// taken in parts and put back together. The parser tests and the fuzzer both check that the answer does not
    /// depend on how the bytes were split.
    public static func messages(
        in bytes: [UInt8], step: Int = Int.max, limits: Limits = Limits(), bodyLimit: Int = 1 << 20, streaming: Bool = false
    ) -> (messages: [(head: RequestHead, body: [UInt8])], error: ParseError?) {
        var parser = RequestParser(limits: limits)
        var pending: [UInt8] = []
        var messages: [(head: RequestHead, body: [UInt8])] = []
        var head: RequestHead?
        var parts: [UInt8] = []
        var offset = 0
        let step = max(1, step)
        while offset < bytes.count {
            let end = bytes.count - offset > step ? offset + step : bytes.count
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
                    case .head(let parsed):
                        head = parsed
                        parser.bodyLimit = bodyLimit
                        parser.streamsBody = streaming
                        continue
                    case .body(let body):
                        if let head { messages.append((head, parts + body)) }
                        parts = []
                        continue
                    case .bodyPart(let part):
                        precondition(streaming && !part.isEmpty, "a part without streaming, or an empty part")
                        parts += part
                        continue
                    }
                    break
                } catch {
                    return (messages, error as? ParseError)
                }
            }
        }
        return (messages, nil)
    }
}
