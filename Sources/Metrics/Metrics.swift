import Synchronization

/// Counters, gauges and histograms for Prometheus, and their text exposition (the Prometheus text format 0.0.4, or
/// OpenMetrics 1.0 when asked). Updates take one uncontended lock at most, so the hot paths (every HTTP response,
/// every committed batch) can afford them; rendering happens on a scrape.
public final class MetricsRegistry: Sendable {
    private let families = Mutex<[any MetricFamily]>([])

    public init() {}

    /// Adds a family; rendered in the order added.
    @discardableResult
    public func register<F: MetricFamily>(_ family: F) -> F {
        families.withLock { $0.append(family) }
        return family
    }

    /// The exposition of every family. `openMetrics`: OpenMetrics 1.0 (counter families named without `_total`,
    /// and a closing `# EOF`); otherwise the Prometheus text format.
    public func render(openMetrics: Bool = false) -> String {
        var out = ""
        for family in families.withLock({ $0 }) {
            let samples = family.samples()
            let name = openMetrics && family.kind == .counter && family.name.hasSuffix("_total")
                ? String(family.name.dropLast(6)) : family.name
            out += "# HELP \(name) \(Self.escapeHelp(family.help))\n"
            out += "# TYPE \(name) \(family.kind.rawValue)\n"
            if openMetrics, let unit = family.unit { out += "# UNIT \(name) \(unit)\n" }
            for sample in samples {
                out += sample.name
                if !sample.labels.isEmpty {
                    out += "{" + sample.labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
                }
                out += " " + Self.format(sample.value) + "\n"
            }
        }
        if openMetrics { out += "# EOF\n" }
        return out
    }

    public static let textContentType = "text/plain; version=0.0.4; charset=utf-8"
    public static let openMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    static func escapeHelp(_ text: String) -> String {
        text.replacingAll("\\", with: "\\\\").replacingAll("\n", with: "\\n")
    }

    static func escapeLabel(_ text: String) -> String {
        text.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"").replacingAll("\n", with: "\\n")
    }

    /// Prometheus numbers: integers without a point, `+Inf`, `NaN`.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

extension String {
    fileprivate func replacingAll(_ target: Character, with replacement: String) -> String {
        guard contains(target) else { return self }
        var out = ""
        for character in self { if character == target { out += replacement } else { out.append(character) } }
        return out
    }
}

public enum MetricKind: String, Sendable {
    case counter, gauge, histogram
}

/// One line of the exposition.
public struct MetricSample: Sendable {
    public let name: String
    public let labels: [(String, String)]
    public let value: Double

    public init(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        self.name = name
        self.labels = labels
        self.value = value
    }
}

public protocol MetricFamily: Sendable {
    var name: String { get }
    var help: String { get }
    var kind: MetricKind { get }
    /// The unit OpenMetrics states (`seconds`, `bytes`), when the name ends with it.
    var unit: String? { get }
    func samples() -> [MetricSample]
}

/// A counter per label set (created on first use). Values are doubles so that energy and emissions add up.
public final class CounterFamily: MetricFamily, Sendable {
    public let name: String
    public let help: String
    public let labelNames: [String]
    public let unit: String?
    public var kind: MetricKind { .counter }
    private let values = Mutex<[[String]: Double]>([:])

    public init(_ name: String, help: String, labels: [String] = [], unit: String? = nil) {
        precondition(name.hasSuffix("_total"), "a counter's name ends with _total")
        self.name = name
        self.help = help
        self.labelNames = labels
        self.unit = unit
        if labels.isEmpty { values.withLock { $0[[]] = 0 } }
    }

    /// Adds `amount` (not negative) to the counter of `labels` (one value per label name, in order).
    public func add(_ amount: Double = 1, _ labels: [String] = []) {
        guard amount >= 0, amount.isFinite, labels.count == labelNames.count else { return }
        values.withLock { $0[labels, default: 0] += amount }
    }

    public func value(_ labels: [String] = []) -> Double { values.withLock { $0[labels] ?? 0 } }

    public func samples() -> [MetricSample] {
        values.withLock { $0 }.sorted { $0.key.lexicographicallyPrecedes($1.key) }.map { labels, value in
            MetricSample(name, Array(zip(labelNames, labels)), value)
        }
    }
}

/// A gauge read when scraped.
public final class GaugeFamily: MetricFamily, Sendable {
    public let name: String
    public let help: String
    public let unit: String?
    public var kind: MetricKind { .gauge }
    private let read: @Sendable () -> [([(String, String)], Double)]

    /// A gauge with one value.
    public convenience init(_ name: String, help: String, unit: String? = nil, _ value: @escaping @Sendable () -> Double) {
        self.init(name, help: help, unit: unit, labelled: { [([], value())] })
    }

    /// A gauge with a value per label set, all read at once.
    public init(_ name: String, help: String, unit: String? = nil, labelled: @escaping @Sendable () -> [([(String, String)], Double)]) {
        self.name = name
        self.help = help
        self.unit = unit
        self.read = labelled
    }

    public func samples() -> [MetricSample] { read().map { MetricSample(name, $0.0, $0.1) } }
}

/// A histogram per label set, with fixed upper bounds.
public final class HistogramFamily: MetricFamily, Sendable {
    public let name: String
    public let help: String
    public let labelNames: [String]
    public let bounds: [Double]
    public let unit: String?
    public var kind: MetricKind { .histogram }

    struct Counts {
        var buckets: [UInt64]
        var sum = 0.0
        var count: UInt64 = 0
    }

    private let values = Mutex<[[String]: Counts]>([:])

    public init(_ name: String, help: String, labels: [String] = [], buckets: [Double], unit: String? = nil) {
        self.name = name
        self.help = help
        self.labelNames = labels
        self.bounds = buckets.sorted()
        self.unit = unit
        if labels.isEmpty { values.withLock { $0[[]] = Counts(buckets: Array(repeating: 0, count: buckets.count)) } }
    }

    public func observe(_ value: Double, _ labels: [String] = []) {
        guard value.isFinite, labels.count == labelNames.count else { return }
        let index = bounds.firstIndex { value <= $0 }
        values.withLock { all in
            // In place: no copy of the bucket array per observation.
            if all[labels] == nil { all[labels] = Counts(buckets: Array(repeating: 0, count: bounds.count)) }
            if let index { all[labels]!.buckets[index] += 1 }
            all[labels]!.sum += value
            all[labels]!.count += 1
        }
    }

    public func count(_ labels: [String] = []) -> UInt64 { values.withLock { $0[labels]?.count ?? 0 } }

    public func samples() -> [MetricSample] {
        values.withLock({ $0 }).sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }).flatMap { labels, counts in
            histogramSamples(name, labels: Array(zip(labelNames, labels)), bounds: bounds, counts: counts.buckets, sum: counts.sum,
                             count: counts.count)
        }
    }
}

/// A family whose samples are produced when scraped, for callers that keep their own tallies (one lock for several
/// families on a hot path).
public final class CustomFamily: MetricFamily, Sendable {
    public let name: String
    public let help: String
    public let kind: MetricKind
    public let unit: String?
    private let read: @Sendable () -> [MetricSample]

    public init(_ name: String, help: String, kind: MetricKind, unit: String? = nil, samples: @escaping @Sendable () -> [MetricSample]) {
        self.name = name
        self.help = help
        self.kind = kind
        self.unit = unit
        self.read = samples
    }

    public func samples() -> [MetricSample] { read() }
}

/// Cumulative histogram samples (`_bucket`, `_sum`, `_count`) from per-bucket counts.
public func histogramSamples(_ name: String, labels: [(String, String)] = [], bounds: [Double], counts: [UInt64], sum: Double,
                             count: UInt64) -> [MetricSample] {
    var out: [MetricSample] = []
    var cumulative: UInt64 = 0
    for (bound, bucket) in zip(bounds, counts) {
        cumulative += bucket
        out.append(MetricSample(name + "_bucket", labels + [("le", MetricsRegistry.format(bound))], Double(cumulative)))
    }
    out.append(MetricSample(name + "_bucket", labels + [("le", "+Inf")], Double(count)))
    out.append(MetricSample(name + "_sum", labels, sum))
    out.append(MetricSample(name + "_count", labels, Double(count)))
    return out
}
