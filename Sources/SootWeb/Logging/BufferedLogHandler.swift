import HTTPServer
import SootStore
import Glibc
import Logging
import Synchronization

/// A swift-log handler that writes lines in swift-log's stream format (`2026-11-29T10:34:09+0000 info soot.http:
/// method=GET status=200 [HTTPServer] request`) through a `LogSink` instead of one locked write to stderr per line:
/// the access log at `info` used to halve the throughput of small requests. Warnings and errors are written before
/// `log` returns; `info` and below within 50 ms.
package struct BufferedLogHandler: LogHandler {
    package var logLevel: Logger.Level = .info
    package var metadata: Logger.Metadata = [:]
    package var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let sink: LogSink

    package init(label: String, sink: LogSink = .standardError, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.sink = sink
        self.metadataProvider = metadataProvider
    }

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        let level = event.level
        if sink.writesJSON { return logJSON(event) }
        // The handler's, then the provider's, then the call's metadata, each overriding the one before; the common
        // case (an access line) has only the call's, so nothing is merged.
        var all: Logger.Metadata
        if metadata.isEmpty && metadataProvider == nil {
            all = event.metadata ?? [:]
        } else {
            all = metadata
            if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
            if let explicit = event.metadata { all.merge(explicit) { _, new in new } }
        }
        var line: [UInt8] = []
        line.reserveCapacity(160)
        line.append(contentsOf: sink.timestamp().utf8)
        line.append(0x20)
        line.append(contentsOf: level.rawValue.utf8)
        line.append(0x20)
        line.append(contentsOf: label.utf8)
        line.append(0x3A)
        for (key, value) in all.sorted(by: { $0.key < $1.key }) {
            line.append(0x20)
            line.append(contentsOf: key.utf8)
            line.append(0x3D)
            line.append(contentsOf: value.description.utf8)
        }
        line.append(contentsOf: " [".utf8)
        line.append(contentsOf: event.source.utf8)
        line.append(contentsOf: "] ".utf8)
        line.append(contentsOf: event.message.description.utf8)
        line.append(0x0A)
        sink.write(line, urgent: level >= .warning)
    }
}

extension BufferedLogHandler {
    /// One JSON object per line: time, level, label, message, source and every metadata key.
    func logJSON(_ event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let explicit = event.metadata { all.merge(explicit) { _, new in new } }
        var line = "{\"time\":\(JSONText.quote(sink.timestamp())),\"level\":\(JSONText.quote(event.level.rawValue))"
        line += ",\"label\":\(JSONText.quote(label)),\"message\":\(JSONText.quote(event.message.description))"
        line += ",\"source\":\(JSONText.quote(event.source))"
        for (key, value) in all.sorted(by: { $0.key < $1.key }) where !["time", "level", "label", "message", "source"].contains(key) {
            line += ",\(JSONText.quote(key)):\(JSONText.quote(value.description))"
        }
        sink.write(Array((line + "}\n").utf8), urgent: event.level >= .warning)
    }
}

/// Lines waiting to be written to a file descriptor, in order. The threads that log only append; a background thread
/// writes every `interval` seconds, and an urgent line (a warning or worse) is written at once with everything before
/// it. If the descriptor stops taking data (a full pipe nobody reads), pending lines stop at 4 MiB and later ones
/// are counted and reported as dropped, so a stuck log never stalls the event loops.
package final class LogSink: Sendable {
    /// Standard error, flushed at exit too.
    package static let standardError: LogSink = {
        let sink = LogSink(descriptor: 2)
        atexit { LogSink.standardError.flush() }
        return sink
    }()

    private struct Pending {
        var bytes: [UInt8] = []
        var dropped = 0
        /// The timestamp of `second`, as bytes, for lines appended under this lock (`append`).
        var second = -1
        var stamp: [UInt8] = []
    }

    private let descriptor: Int32
    private let json = Atomic<Bool>(false)

    /// Whether lines are JSON objects (`--log-format json`, for Loki or ELK) instead of text.
    package var writesJSON: Bool {
        get { json.load(ordering: .relaxed) }
    }

    package func setJSON(_ on: Bool) { json.store(on, ordering: .relaxed) }
    private let pending = Mutex(Pending())
    /// Held while taking and writing a chunk, so chunks reach the descriptor in the order they were taken; it keeps
    /// the buffer written last, emptied with its capacity, to swap in as the next pending one (no regrowth per flush).
    private let writing = Mutex<[UInt8]>([])
    private let clock = Mutex<(second: Int, text: String)>((-1, ""))
    static let maximumPending = 4 * 1024 * 1024

    package init(descriptor: Int32, interval: Double = 0.05) {
        self.descriptor = descriptor
        BackgroundFlusher(sink: self, interval: interval).start()
    }

    /// Queues a line that starts with the local time and goes on with what `build` appends (about `reserve` bytes),
    /// straight into the pending buffer: no array, string or second lock per line. `build` runs under the sink's
    /// lock: it must only append.
    package func appendLine(reserve: Int, _ build: (inout [UInt8]) -> Void) {
        let now = Int(time(nil))
        pending.withLock { state in
            if state.bytes.count + reserve > LogSink.maximumPending {
                state.dropped += 1
                return
            }
            if state.second != now {
                state.second = now
                state.stamp = Array(timestamp().utf8)
            }
            state.bytes.append(contentsOf: state.stamp)
            build(&state.bytes)
        }
    }

    /// Queues `line`; with `urgent`, writes it and everything queued before it now.
    package func write(_ line: [UInt8], urgent: Bool) {
        pending.withLock { state in
            if state.bytes.count + line.count > LogSink.maximumPending {
                state.dropped += 1
            } else {
                state.bytes.append(contentsOf: line)
            }
        }
        if urgent { flush() }
    }

    /// Writes everything queued. Lines the descriptor refuses are counted as dropped and reported by the next flush.
    package func flush() {
        writing.withLock { spare in
            var chunk = spare
            let dropped = pending.withLock { state -> Int in
                swap(&chunk, &state.bytes)
                defer { state.dropped = 0 }
                return state.dropped
            }
            defer {
                chunk.removeAll(keepingCapacity: chunk.capacity <= 1 << 20)
                spare = chunk
            }
            if dropped > 0 {
                chunk += Array("\(timestamp()) warning soot: [Logging] \(dropped) log lines dropped: the log output was not being read\n".utf8)
            }
            var offset = 0
            while offset < chunk.count {
                let written = chunk.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    let lost = chunk[offset...].reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) }
                    pending.withLock { $0.dropped += lost }
                    return
                }
            }
        }
    }

    /// Local time as swift-log's stream handler writes it (`%Y-%m-%dT%H:%M:%S%z`), formatted once per second.
    func timestamp() -> String {
        var now = time(nil)
        return clock.withLock { cached in
            if cached.second == now { return cached.text }
            var parts = tm()
            localtime_r(&now, &parts)
            var buffer = [CChar](repeating: 0, count: 64)
            let count = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
            let text = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            cached = (now, text)
            return text
        }
    }
}

/// The thread that flushes a sink every interval (it never ends; sinks live as long as the process).
private final class BackgroundFlusher: Sendable {
    let sink: LogSink
    let interval: Double

    init(sink: LogSink, interval: Double) {
        self.sink = sink
        self.interval = interval
    }

    func start() {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(&thread, nil, { argument in
            let flusher = Unmanaged<BackgroundFlusher>.fromOpaque(argument!).takeRetainedValue()
            let micros = useconds_t(max(1_000, flusher.interval * 1_000_000))
            while true {
                usleep(micros)
                flusher.sink.flush()
            }
        }, box)
        if created == 0 { pthread_detach(thread) } else { Unmanaged<BackgroundFlusher>.fromOpaque(box).release() }
    }
}
