import Foundation
import Testing

/// The lower layers know nothing of the application built on them: names that belong to Soot (server name, thread
/// names, database user, setting names, log labels) come in through their configuration.
@Suite struct LayeringTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test(arguments: ["Sources/Sockets", "Sources/HTTPServer", "Sources/Postgres"])
    func lowerLayersNameNothingOfSoot(folder: String) throws {
        let base = Self.root.appendingPathComponent(folder)
        let files = try #require(FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil)?.allObjects as? [URL])
        var offending: [String] = []
        for file in files where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                if code.hasPrefix("//") { continue }
                // The C shims' function prefix (soot_epollin, ...) is the shim's own namespace, not an application name.
                let withoutShims = code.replacingOccurrences(of: #"soot_[a-z_]+"#, with: "", options: .regularExpression)
                if withoutShims.range(of: "soot", options: .caseInsensitive) != nil {
                    offending.append("\(file.lastPathComponent):\(number + 1): \(code)")
                }
            }
        }
        #expect(offending.isEmpty, "\(offending.joined(separator: "\n"))")
    }

    /// The web layer cannot write SQL: no file imports the database driver (the store is its only way in), and no
    /// view escapes by hand (pages are `HTML` values that escape by construction).
    @Test func theWebLayerHasNoSQLAndNoHandEscaping() throws {
        let base = Self.root.appendingPathComponent("Sources/SootWeb")
        let files = try #require(FileManager.default.enumerator(at: base, includingPropertiesForKeys: nil)?.allObjects as? [URL])
        var offending: [String] = []
        for file in files where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                if code.hasPrefix("//") { continue }
                if code == "import Postgres" || code.hasPrefix("@testable import Postgres") || code.contains("SQLQuery")
                    || (code.contains("HTML.escape(") && file.lastPathComponent != "HTML.swift") {
                    offending.append("\(file.lastPathComponent):\(number + 1): \(code)")
                }
            }
        }
        #expect(files.count > 20)
        #expect(offending.isEmpty, "\(offending.joined(separator: "\n"))")
    }
}
