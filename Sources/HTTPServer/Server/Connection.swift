import Glibc
import Logging
import Sockets

/// One client connection: the HTTP/1.1 state machine around the parser, on its event loop's thread.
final class Connection: @unchecked Sendable {
    // Safety: confined to `loop`'s thread. Worker threads never touch it: they hand results back through
    // `loop.execute`, and a streamed body through a `StreamChannel`.
    enum Phase {
        /// Waiting for (the rest of) a request head; the timers say whether idle or mid-head.
        case head
        case body
        /// A worker runs the handler.
        case handling
        /// A worker produces a streamed body.
        case streaming
        /// The final response is out; discarding input until the peer closes or the linger deadline.
        case lingering
        case closed
    }


    struct Current {
        let head: RequestHead
        let match: Responder.Match
        let startedAt: UInt64
        let requestID: String
    }

    let fd: Int32
    let peer: String
    unowned let loop: EventLoop
    private var core: ServerCore { loop.core }

    private var pending: [UInt8] = []
    private var pendingStart = 0
    private var parser: RequestParser
    private var output: [UInt8] = []
    private var outputSent = 0
    private(set) var phase = Phase.head
    private var readable = true
    private var peerEOF = false
    private var closeAfterFlush = false
    /// Deadlines, as a pure value fed this loop's clock.
    private var timers: ConnectionTimers
    /// The body a `streamsBody` handler is reading while it arrives.
    private var bodyStream: RequestBodyStream?
    /// True while the streamed body's reader is behind: the socket is not read until it catches up.
    private var bodyPaused = false
    /// A streamed body's client sent `Expect: 100-continue`; it is answered when the handler first reads.
    private var continuePending = false
    private var current: Current?
    private var stream: (channel: StreamChannel, chunked: Bool, request: Request, status: HTTPStatus, fields: [(name: String, value: String)])?
    private var drainRequested = false
    private var responseBytes = 0

    init(fd: Int32, peer: String, loop: EventLoop) {
        self.fd = fd
        self.peer = peer
        self.loop = loop
        self.parser = RequestParser(limits: loop.core.configuration.parserLimits)
        self.timers = ConnectionTimers(limits: loop.core.timerLimits)
    }

    private var pendingOutput: Int { output.count - outputSent }

    /// Whether this connection is counted in its loop's idle connections (waiting for a next request).
    private var countedIdle = false

    /// Arms the timers for `kind`, keeping the loop's count of idle keep-alive connections.
    private func arm(_ kind: ConnectionTimers.Kind, now: UInt64) {
        timers.arm(kind, now: now)
        let idle = kind == .idle
        if idle != countedIdle {
            countedIdle = idle
            loop.idleConnections.add(idle ? 1 : -1, ordering: .relaxed)
        }
    }

    func start() {
        arm(.header, now: MonotonicClock.now())
        drive()
    }

    // MARK: Events

    func onReady(readable: Bool, writable: Bool, hangUp: Bool) {
        if phase == .closed { return }
        if readable { self.readable = true }
        if writable && pendingOutput > 0 { flush() }
        if phase == .closed { return }
        if stream != nil && writable { pumpStream() }
        if phase == .closed { return }
        drive()
        if hangUp && (phase == .head || phase == .body || phase == .lingering) && pendingOutput == 0 {
            close()
        }
    }

    /// Reads and processes until the socket is drained, a handler goes to a worker, or output backs up.
    private func drive() {
        while phase == .head || phase == .body || phase == .lingering {
            if phase == .lingering {
                // The final response may still be waiting: send it (this half-closes), then drain input.
                flush()
                discardInput()
                return
            }
            if pendingOutput > core.configuration.maximumPendingOutputBytes { break }
            guard readable, !peerEOF, !bodyPaused else { break }
            let scratch = loop.scratch
            let result = SocketIO.read(fd, into: scratch)
            switch result {
            case .bytes(let count):
                loop.bytesRead.add(UInt64(count), ordering: .relaxed)
                if timers.kind == .idle { arm(.header, now: MonotonicClock.now()) }
                if phase == .body { timers.bodyProgressed(now: MonotonicClock.now()) }
                process(UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
                if count < scratch.count { readable = false }
            case .wouldBlock:
                readable = false
            case .endOfFile:
                peerEOF = true
            case .failed:
                close()
                return
            }
        }
        flush()
        if phase == .closed { return }
        if peerEOF && (phase == .head || phase == .body) && pendingOutput == 0 {
            // The client closed its side: nothing more can complete.
            close()
        }
    }

    /// Parses `fresh` bytes (after any kept from before) and handles what completes.
    private func process(_ fresh: UnsafeRawBufferPointer) {
        if pending.count == pendingStart {
            let consumed = parseAvailable(fresh)
            if consumed < fresh.count, phase != .closed, phase != .lingering {
                pending.removeAll(keepingCapacity: false)
                pendingStart = 0
                pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: fresh[consumed...]))
            }
        } else {
            pending.append(contentsOf: fresh)
            processPending()
        }
    }

    private func processPending() {
        guard pending.count > pendingStart else { return }
        let consumed = pending.withUnsafeBytes { all in
            parseAvailable(UnsafeRawBufferPointer(rebasing: all[pendingStart...]))
        }
        if phase == .closed { return }
        pendingStart += consumed
        if pendingStart == pending.count {
            pending = []
            pendingStart = 0
        } else if pendingStart > 4096 && pendingStart * 2 > pending.count {
            pending.removeFirst(pendingStart)
            pendingStart = 0
        }
    }

    /// Runs the parser over `bytes` while requests can be handled here; returns the bytes consumed.
    private func parseAvailable(_ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        while phase == .head || phase == .body {
            if pendingOutput > core.configuration.maximumPendingOutputBytes { break }
            let event: RequestParser.Event
            let consumed: Int
            do {
                (event, consumed) = try parser.parse(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            } catch {
                refuse(Dispatch.Refusal(status: error.status, message: error.reason), head: current?.head)
                return bytes.count
            }
            offset += consumed
            switch event {
            case .needMore:
                if consumed == 0 || offset == bytes.count { return offset }
            case .head(let head):
                onHead(head, moreBytesBuffered: offset < bytes.count)
            case .body(let body):
                if bodyStream != nil { onStreamedBodyEnd(body) } else { onBody(body) }
            case .bodyPart(let part):
                onBodyPart(part)
            }
        }
        return offset
    }

    // MARK: Requests

    private func onHead(_ head: RequestHead, moreBytesBuffered: Bool) {
        let now = MonotonicClock.now()
        let match = Dispatch.match(head, in: core.responder)
        current = Current(head: head, match: match, startedAt: now,
                          requestID: RequestID.of(head, peer: peer, trusts: core.configuration.trustsRequestID))
        let action = Dispatch.onHead(head, match: match, defaultBodyLimit: core.configuration.maximumBodyBytes,
                                     moreBytesBuffered: moreBytesBuffered)
        switch action {
        case .refuse(let refusal):
            refuse(refusal, head: head)
        case .streamBody(let route, let parameters, let limit):
            parser.bodyLimit = limit
            startStreamedBody(head: head, route: route, parameters: parameters, now: now, moreBytesBuffered: moreBytesBuffered)
        case .readBody(let limit, let sendContinue):
            parser.bodyLimit = limit
            if sendContinue {
                output.append(contentsOf: ResponseWriter.continueLine)
                flush()
            }
            phase = .body
            arm(.body, now: now)
            timers.bodyProgressed(now: now)
        case .noBody(let limit):
            // The parser's next event is the empty body, which dispatches the request.
            parser.bodyLimit = limit
        }
    }

    // MARK: Streamed request bodies

    /// A `streamsBody` route: its handler starts on a worker now, reading the body through a stream while the
    /// connection feeds it; reading pauses while the handler is behind.
    private func startStreamedBody(head: RequestHead, route: Route, parameters: [String: String], now: UInt64, moreBytesBuffered: Bool) {
        let loop = self.loop
        let stream = RequestBodyStream(
            wanted: { [self] in loop.execute { self.sendContinueIfPending() } },
            consumed: { [self] in loop.execute { self.bodyConsumed() } })
        var request = Request(head: head, remoteAddress: peer, receivedAt: now)
        request.id = current?.requestID ?? ""
        request.parameters = parameters
        request.bodyStream = stream
        if head.framing == .none {
            _ = try? parser.parse(UnsafeRawBufferPointer(start: nil, count: 0))  // the (empty) body: the next head follows
            stream.finish()
            phase = .handling
            arm(.none, now: MonotonicClock.now())
        } else {
            parser.streamsBody = true
            bodyStream = stream
            continuePending = head.expectsContinue && !moreBytesBuffered
            phase = .body
            // No whole-body deadline: a large upload may take long while the handler writes what it read. A body
            // that stops arriving while the handler keeps up still gets 408 (`bodyStallTimeout`).
            arm(.none, now: MonotonicClock.now())
            timers.bodyProgressed(now: now)
        }
        let core = self.core
        let request2 = request
        core.workers.submit { [self] in
            var response = core.invoke(route.handler, request2)
            if case .bytes = response.body {} else {
                core.logger.error("a handler of a streamed body must answer with bytes", metadata: ["path": "\(core.redactPath(head.path))"])
                response = core.errorResponder(.internalServerError, "Something went wrong on our side.", head, request2.id)
            }
            let answer = response
            loop.execute { self.finishStreamedBody(answer, request: request2) }
        }
    }

    private func sendContinueIfPending() {
        guard continuePending, phase == .body else { return }
        continuePending = false
        output.append(contentsOf: ResponseWriter.continueLine)
        flush()
        timers.bodyProgressed(now: MonotonicClock.now())
    }

    private func onBodyPart(_ part: [UInt8]) {
        guard let stream = bodyStream else { return }
        timers.bodyProgressed(now: MonotonicClock.now())
        if stream.push(part) > stream.highWater { bodyPaused = true }
    }

    private func onStreamedBodyEnd(_ last: [UInt8]) {
        guard let stream = bodyStream else { return }
        _ = stream.push(last)
        stream.finish()
        bodyStream = nil
        bodyPaused = false
        phase = .handling
        arm(.none, now: MonotonicClock.now())
    }

    /// The handler took a part: read again once it has caught up.
    private func bodyConsumed() {
        guard bodyPaused, let stream = bodyStream, stream.waiting <= stream.highWater / 2 else { return }
        bodyPaused = false
        timers.bodyProgressed(now: MonotonicClock.now())
        processPending()
        drive()
    }

    /// The handler of a streamed body answered. After the whole body, as any answer; before it (a refusal from the
    /// head), the rest of the body is not read: the answer closes the connection.
    private func finishStreamedBody(_ response: Response, request: Request) {
        switch phase {
        case .handling:
            finishHandling(response, request: request)
        case .body:
            bodyStream?.fail("the request was answered before its body was read")
            bodyStream = nil
            bodyPaused = false
            continuePending = false
            parser.streamsBody = false
            var response = response
            response.headers.set("Connection", "close")
            respond(response, to: request)
            flush()
            drive()
        default:
            break
        }
    }

    private func onBody(_ body: [UInt8]) {
        guard let current else { return }
        let head = current.head
        var request = Request(head: head, body: body, remoteAddress: peer, receivedAt: current.startedAt)
        request.id = current.requestID
        arm(.none, now: MonotonicClock.now())
        switch Dispatch.request(head, match: current.match) {
        case .run(let route, let parameters):
            request.parameters = parameters
            run(route, request)
        case .options(let allow):
            var response = Response(status: .noContent)
            response.headers.set("Allow", allow.map(\.rawValue).joined(separator: ", "))
            respond(response, to: request)
        case .refuse(let refusal):
            respond(errorResponse(refusal, head: head, requestID: request.id), to: request)
        }
    }

    /// Runs a route's handler on this loop when it is inline and answers at once, otherwise on a worker.
    private func run(_ route: Route, _ request: Request) {
        if route.options.inline, let response = core.invokeInline(route.handler, request) {
            switch response.body {
            case .deferred(let start):
                phase = .handling
                start(promise(for: request))
            case .bytes:
                respond(response, to: request)
            case .stream:
                core.logger.error("an inline handler returned a stream; streams need a worker route",
                                  metadata: ["path": "\(core.redactPath(request.path))"])
                respond(core.errorResponder(.internalServerError, "Something went wrong on our side.", request.head, request.id), to: request)
            }
            return
        }
        phase = .handling
        let core = self.core
        let loop = self.loop
        let promise = promise(for: request)
        core.workers.submit { [self] in
            let response = core.invoke(route.handler, request)
            switch response.body {
            case .deferred(let start):
                start(promise)
            case .stream(let producer):
                let channel = StreamChannel()
                loop.execute { self.beginStream(response, request: request, channel: channel) }
                Connection.produce(producer, into: channel, loop: loop, logger: core.logger) { self.pumpStream() }
            case .bytes:
                promise.succeed(response)
            }
        }
    }

    /// On a worker: runs a streamed body's producer into `channel`, nudging the loop to send what it queued.
    private static func produce(_ producer: @Sendable (ResponseBodyWriter) throws -> Void, into channel: StreamChannel, loop: EventLoop, logger: Logger,
                                pump: @escaping @Sendable () -> Void) {
        let writer = ResponseBodyWriter { bytes in
            if try channel.push(bytes) { loop.execute(pump) }
        }
        var failed = false
        do {
            try producer(writer)
            try writer.flush()
        } catch is ResponseBodyWriter.Closed {
            failed = true
        } catch {
            failed = true
            logger.error("streamed response failed", metadata: ["error": "\(String(reflecting: error))"])
        }
        channel.finish(failed: failed)
        loop.execute(pump)
    }

    /// The promise a deferred or worker response completes: it hands the response back to this loop.
    private func promise(for request: Request) -> ResponsePromise {
        let loop = self.loop
        return ResponsePromise { [self] response in
            loop.execute { self.finishHandling(response, request: request) }
        }
    }

    private func finishHandling(_ response: Response, request: Request) {
        guard phase == .handling else { return }
        phase = .head
        var response = response
        if case .bytes = response.body {} else {
            core.logger.error("a deferred response must complete with bytes", metadata: ["path": "\(core.redactPath(request.path))"])
            response = core.errorResponder(.internalServerError, "Something went wrong on our side.", request.head, request.id)
        }
        respond(response, to: request)
        resumeAfterResponse()
    }

    /// After a worker's response: continue with bytes kept and whatever arrived meanwhile.
    private func resumeAfterResponse() {
        guard phase == .head else {
            flush()
            return
        }
        processPending()
        drive()
    }

    /// Writes a final response for `request` and decides whether the connection stays open.
    private func respond(_ response: Response, to request: Request) {
        let keepAlive = request.head.keepAlive && !drainRequested && !loop.draining && !peerEOF
            && !(response.headers.tokens("Connection").contains("close"))
        serialize(response, head: request.head, keepAlive: keepAlive, streamed: false, requestID: request.id)
        logAccess(request.head, status: response.status, bytes: responseBytes, requestID: request.id, fields: response.logFields)
        current = nil
        phase = .head
        if keepAlive {
            if pending.count == pendingStart {
                arm(.idle, now: MonotonicClock.now())
            } else {
                arm(.header, now: MonotonicClock.now())
            }
        } else {
            beginLinger()
        }
    }

    /// After a final response on a connection that closes: send it, half-close, then discard input until the peer
    /// closes or the linger deadline passes (RFC 9112 section 9.6), so the peer reads the response before a reset.
    private func beginLinger() {
        closeAfterFlush = true
        phase = .lingering
        arm(.linger, now: MonotonicClock.now())
    }

    /// A server error response for `refusal`, with its `Allow`.
    private func errorResponse(_ refusal: Dispatch.Refusal, head: RequestHead?, requestID: String) -> Response {
        var response = core.errorResponder(refusal.status, refusal.message, head, requestID)
        if let allow = refusal.allow { response.headers.set("Allow", allow.map(\.rawValue).joined(separator: ", ")) }
        return response
    }

    /// Answers a request refused before its body was read. The connection closes unless the request
    /// had no body to skip (`keepIfNoBody`), so the byte stream never desynchronises.
    private func refuse(_ refusal: Dispatch.Refusal, head: RequestHead?) {
        bodyStream?.fail(refusal.message)
        bodyStream = nil
        bodyPaused = false
        // A refusal before any head was parsed has no request id yet: it gets one of its own.
        let requestID = current?.requestID ?? RequestID.next()
        var response = errorResponse(refusal, head: head, requestID: requestID)
        let keep = refusal.keepIfNoBody && head?.framing == BodyFraming.none
        if !keep { response.headers.set("Connection", "close") }
        if let head {
            if keep {
                // Nothing to skip: the parser is waiting for the (empty) body; take it and answer.
                _ = try? parser.parse(UnsafeRawBufferPointer(start: nil, count: 0))
            }
            var request = Request(head: head, remoteAddress: peer, receivedAt: current?.startedAt ?? 0)
            request.id = requestID
            respond(response, to: request)
        } else {
            serialize(response, head: nil, keepAlive: false, streamed: false, requestID: requestID)
            logAccess(nil, status: refusal.status, bytes: responseBytes, requestID: requestID)
        }
        if !keep { beginLinger() }
    }

    // MARK: Streaming

    private func beginStream(_ response: Response, request: Request, channel: StreamChannel) {
        guard phase == .handling else {
            channel.cancel()
            return
        }
        let chunked = request.head.version == .http1_1
        let keepAlive = chunked && request.head.keepAlive && !drainRequested && !loop.draining && !peerEOF
        if !keepAlive { closeAfterFlush = true }
        serialize(response, head: request.head, keepAlive: keepAlive, streamed: true, requestID: request.id)
        phase = .streaming
        stream = (channel, chunked, request, response.status, response.logFields)
        if request.head.method == .head {
            channel.cancel()
        }
        flush()
    }

    func pumpStream() {
        guard phase == .streaming, let stream else { return }
        let isHead = stream.request.head.method == .head
        while true {
            while pendingOutput < 256 * 1024 {
                switch stream.channel.next() {
                case .chunk(let bytes):
                    if isHead || bytes.isEmpty { continue }
                    ResponseWriter.appendChunk(bytes, chunked: stream.chunked, to: &output)
                    responseBytes += bytes.count
                case .empty:
                    // The producer nudges the loop when it queues into an empty channel.
                    flush()
                    return
                case .end(let failed):
                    endStream(stream, failed: failed && !isHead)
                    return
                }
            }
            flush()
            // Still backed up: the socket's next writable edge calls us again.
            if phase != .streaming || pendingOutput > 0 { return }
        }
    }

    private func endStream(_ stream: (channel: StreamChannel, chunked: Bool, request: Request, status: HTTPStatus,
                                      fields: [(name: String, value: String)]), failed: Bool) {
        self.stream = nil
        let isHead = stream.request.head.method == .head
        if failed {
            // The head is out and the body cannot be finished: only closing tells the client.
            flush()
            logAccess(stream.request.head, status: stream.status, bytes: responseBytes, requestID: stream.request.id, fields: stream.fields)
            close()
            return
        }
        if stream.chunked && !isHead { output.append(contentsOf: ResponseWriter.lastChunk) }
        logAccess(stream.request.head, status: stream.status, bytes: responseBytes, requestID: stream.request.id, fields: stream.fields)
        current = nil
        if closeAfterFlush {
            beginLinger()
            flush()
        } else {
            phase = .head
            if pending.count == pendingStart {
                arm(.idle, now: MonotonicClock.now())
            } else {
                arm(.header, now: MonotonicClock.now())
            }
            resumeAfterResponse()
        }
    }

    // MARK: Output

    private func serialize(_ response: Response, head: RequestHead?, keepAlive: Bool, streamed: Bool, requestID: String) {
        var response = response
        if !HeaderValidation.isValid(response.headers) {
            core.logger.error("a handler returned a header with a forbidden byte; answering 500",
                              metadata: ["path": "\(head.map { core.redactPath($0.path) } ?? "-")"])
            response = core.errorResponder(.internalServerError, "Something went wrong on our side.", head, requestID)
        }
        responseBytes = core.writer.append(response, head: head, keepAlive: keepAlive, streamed: streamed,
                                           date: loop.date.current(), requestID: requestID, to: &output)
    }

    /// Writes what it can of the pending output; on completion of a final response, half-closes.
    private func flush() {
        guard phase != .closed else { return }
        while pendingOutput > 0 {
            let result = output.withUnsafeBytes { all in
                SocketIO.write(fd, UnsafeRawBufferPointer(rebasing: all[outputSent...]))
            }
            switch result {
            case .bytes(let count):
                outputSent += count
                timers.writeProgressed()
            case .wouldBlock:
                timers.writeBlocked(now: MonotonicClock.now())
                return
            case .endOfFile, .failed:
                close()
                return
            }
        }
        if output.capacity > 16 * 1024 {
            output = []
        } else {
            output.removeAll(keepingCapacity: true)
        }
        outputSent = 0
        timers.writeProgressed()
        if closeAfterFlush && phase == .lingering {
            closeAfterFlush = false
            shutdown(fd, Int32(SHUT_WR))
            if peerEOF { close() } else { discardInput() }
        }
    }

    /// While lingering: read and drop input until the peer closes.
    private func discardInput() {
        guard phase == .lingering, !closeAfterFlush else { return }
        while true {
            switch SocketIO.read(fd, into: loop.scratch) {
            case .bytes: continue
            case .wouldBlock: return
            case .endOfFile, .failed:
                close()
                return
            }
        }
    }

    // MARK: Deadlines and closing

    func checkDeadlines(now: UInt64) {
        if phase == .closed { return }
        let started = !(pending.count == pendingStart && parser.isAtMessageStart) || phase == .body
        switch timers.due(now: now, waitingForHead: phase == .head, inBody: phase == .body, bodyPaused: bodyPaused,
                          lingering: phase == .lingering, requestStarted: started) {
        case .none:
            break
        case .close:
            close()
        case .requestTimeout(let message):
            refuse(Dispatch.Refusal(status: .requestTimeout, message: message), head: current?.head)
            flush()
        }
    }

    /// Graceful stop: close now if idle, otherwise after the current response.
    func drain() {
        drainRequested = true
        if phase == .head && timers.kind == .idle && pendingOutput == 0 {
            close()
        } else if phase == .head && pending.count == pendingStart && parser.isAtMessageStart && pendingOutput == 0 {
            close()
        }
    }

    func close() {
        guard phase != .closed else { return }
        phase = .closed
        if countedIdle {
            countedIdle = false
            loop.idleConnections.add(-1, ordering: .relaxed)
        }
        bodyStream?.fail("the connection closed")
        bodyStream = nil
        stream?.channel.cancel()
        stream = nil
        loop.forget(self)
        SocketIO.close(fd)
        pending = []
        output = []
    }

    private func logAccess(_ head: RequestHead?, status: HTTPStatus, bytes: Int, requestID: String,
                           fields: [(name: String, value: String)] = []) {
        if let observer = core.configuration.responseObserver {
            var route: String?
            if let current, case .found(let matched, _) = current.match { route = matched.pattern }
            let seconds = current.map { Double(MonotonicClock.now() &- $0.startedAt) / 1e9 } ?? 0
            observer(CompletedResponse(method: head?.method, path: head?.path, peer: peer, route: route, status: status.code,
                                       bytes: bytes, seconds: seconds, requestID: requestID, fields: fields))
        }
        guard core.configuration.logsAccess else { return }
        let logger = core.logger
        guard logger.logLevel <= .info else { return }
        let elapsed = current.map { Double(MonotonicClock.now() &- $0.startedAt) / 1e6 } ?? 0
        var metadata: Logger.Metadata = [
            "method": "\(head?.method.rawValue ?? "-")",
            "path": "\(head.map { core.redactPath($0.path) } ?? "-")",
            "status": "\(status.code)",
            "bytes": "\(bytes)",
            "ms": "\((elapsed * 1000).rounded() / 1000)",
            "peer": "\(peer)",
            "request_id": "\(requestID)",
        ]
        for field in fields { metadata[field.name] = "\(field.value)" }
        logger.info("request", metadata: metadata)
    }
}
