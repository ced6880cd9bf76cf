import Foundation
import HTTPServer
import Metrics
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

/// The monitoring files in docs/operations: Prometheus's configuration and alert rules, and the Grafana dashboard,
/// checked by Prometheus's own `promtool`, and every metric they name present in what Soot exposes.
@Suite struct OperationsFilesTests {
    let folder = TestDatabase.repositoryRoot.appendingPathComponent("docs/operations")

    /// The PromQL expressions of the dashboard's panels.
    func dashboardExpressions() throws -> [String] {
        let dashboard = try #require(JSONValue.parse(Array(try Data(contentsOf: folder.appendingPathComponent("grafana/soot.json")))))
        return dashboard["panels"]?.arrayValue.flatMap { $0["targets"]?.arrayValue ?? [] }.compactMap { $0["expr"]?.stringValue } ?? []
    }

    @Test func promtoolAcceptsTheConfigurationTheAlertsAndEveryPanel() throws {
        let config = try Shell.run("promtool", ["check", "config", folder.appendingPathComponent("prometheus.yml").path])
        #expect(config.status == 0, "\(config.output) \(config.errors)")
        #expect(config.output.contains("SUCCESS: 6 rules found"), "\(config.output)")
        // Every panel's expression, as a recording rule, so promtool parses and checks it.
        let expressions = try dashboardExpressions()
        #expect(expressions.count >= 12)
        var rules = "groups:\n  - name: dashboard\n    rules:\n"
        for (index, expression) in expressions.enumerated() {
            rules += "      - record: soot_dashboard_panel_\(index)\n        expr: '\(expression.replacingOccurrences(of: "'", with: "''"))'\n"
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("soot-dashboard-\(UUID().uuidString).yml")
        try rules.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let checked = try Shell.run("promtool", ["check", "rules", file.path])
        #expect(checked.status == 0, "\(checked.output) \(checked.errors)")
        #expect(checked.output.contains("SUCCESS: \(expressions.count) rules found"), "\(checked.output)")
    }

    @Test func everyMetricTheDashboardAndAlertsNameIsExposed() throws {
        try withApp { app in
            let exposed = Set(app.application.metrics.registry.render().split(separator: "\n")
                .filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
            #expect(exposed.contains("soot_ingested_emissions_kg_total"))
            let alerts = try String(contentsOf: folder.appendingPathComponent("alerts.yml"), encoding: .utf8)
            let text = try dashboardExpressions().joined(separator: "\n") + "\n" + alerts
            let pattern = try Regex("(soot|process)_[a-z0-9_]+")
            var named = Set<String>()
            for match in text.matches(of: pattern) {
                var name = String(text[match.range])
                for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) && !exposed.contains(name) {
                    name = String(name.dropLast(suffix.count))
                }
                named.insert(name)
            }
            #expect(named.count >= 10)
            for name in named.sorted() { #expect(exposed.contains(name), "\(name) is named in docs/operations but not exposed") }
        }
    }
}
