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
        #expect(config.output.contains("SUCCESS: 7 rules found"), "\(config.output)")
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

extension OperationsFilesTests {
    /// The compose file's "scale" profile (no Docker engine runs here, so its wiring is checked instead): Soot's
    /// instances reach PostgreSQL through the pgbouncer service in transaction mode with the matching setting, their
    /// writers straight to the primary and their reads to the replica service; every file mounted exists; and the
    /// balancer's configuration is accepted by a real nginx (`nginx -t`).
    @Test func theComposeScaleProfileIsWiredAndItsNginxConfigurationIsValid() throws {
        let root = TestDatabase.repositoryRoot
        let parsed = try Shell.run("python3", ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
                                               root.appendingPathComponent("docker-compose.yml").path])
        try #require(parsed.status == 0, "\(parsed.errors)")
        let compose = try #require(JSONValue.parse(Array(parsed.output.utf8)))
        let services = try #require(compose["services"])
        func environment(_ service: String) -> [String: String] {
            guard case .object(let fields)? = services[service]?["environment"] else { return [:] }
            return fields.reduce(into: [:]) { $0[$1.key] = $1.value.stringValue }
        }
        func host(_ url: String?) -> String? { url.flatMap { URL(string: $0)?.host } }
        for name in ["db-replica", "pgbouncer", "soot-scaled", "balancer"] {
            #expect(services[name]?["profiles"]?.arrayValue.compactMap(\.stringValue) == ["scale"], "\(name)")
        }
        let soot = environment("soot-scaled")
        #expect(host(soot["DATABASE_URL"]) == "pgbouncer" && soot["SOOT_DATABASE_POOLING"] == "transaction")
        #expect(host(soot["SOOT_INGEST_DATABASE_URL"]) == "db" && host(soot["DATABASE_READ_URL"]) == "db-replica")
        #expect(environment("pgbouncer")["POOL_MODE"] == "transaction" && host(environment("pgbouncer")["DATABASE_URL"]) == "db")
        #expect(services["soot-scaled"]?["deploy"]?["replicas"]?.numberValue == 2)
        // Every file a service mounts from the repository is there.
        var mounted: [String] = []
        if case .object(let all) = services {
            for service in all.values {
                for volume in service["volumes"]?.arrayValue.compactMap(\.stringValue) ?? [] where volume.hasPrefix("./") {
                    mounted.append(String(volume.dropFirst(2).prefix { $0 != ":" }))
                }
            }
        }
        #expect(mounted.contains("docs/operations/compose/nginx.conf") && mounted.contains("docs/operations/compose/replication.sh"))
        for path in mounted { #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path), "\(path)") }

        // nginx checks the balancer's server block inside a minimal main configuration (the service name resolved
        // to loopback, as Docker's DNS would resolve it to the instances).
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("soot-nginx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let site = try String(contentsOf: root.appendingPathComponent("docs/operations/compose/nginx.conf"), encoding: .utf8)
            .replacingOccurrences(of: "server soot-scaled:8080;", with: "server 127.0.0.1:8080;")
        #expect(site.contains("server 127.0.0.1:8080;"))
        let main = """
            pid \(folder.path)/nginx.pid;
            error_log \(folder.path)/error.log;
            events {}
            http {
                access_log off;
                client_body_temp_path \(folder.path); proxy_temp_path \(folder.path); fastcgi_temp_path \(folder.path);
                uwsgi_temp_path \(folder.path); scgi_temp_path \(folder.path);
                \(site.replacingOccurrences(of: "listen 80;", with: "listen 127.0.0.1:1;"))
            }
            """
        try main.write(to: folder.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
        let checked = try Shell.run("/usr/sbin/nginx", ["-t", "-p", folder.path, "-c", folder.appendingPathComponent("nginx.conf").path])
        #expect(checked.status == 0, "\(checked.output) \(checked.errors)")
    }
}
