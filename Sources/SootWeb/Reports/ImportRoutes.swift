import Foundation
import HTTPServer
import SootStore

/// Importing a CodeCarbon `emissions.csv`: over REST (`POST /api/v1/projects/{id}/import`, the file as the body,
/// `text/csv`) and from the project page (a file upload form).
struct ImportRoutes {
    /// On the reports' own pool (`ReportCapacity.store`), not the main one.
    let store: Store
    let capacity: ReportCapacity
    let authenticator: Authenticator
    /// The file is read as it arrives: the credential, project, scope and experiment are checked from the request
    /// head first, so a refusal (401, 403, 404, 503) comes before a byte of the body is read.
    static let options = RouteOptions(maximumBodyBytes: CSVImport.maximumStreamedBytes, streamsBody: true)
    /// The page's form is multipart: read whole (up to 64 MiB) once the session and project are checked.
    static let formOptions = RouteOptions(maximumBodyBytes: CSVImport.maximumBytes, streamsBody: true)

    func register(_ router: inout Router, _ api: inout APIRegistry) {
        let routes = self
        api.add(&router, .post, "/api/v1/projects/:project_id/import",
                summary: "Import a CodeCarbon emissions.csv (the body, text/csv) into the project; experiment_id picks the experiment, valid_only=true imports the valid rows of a file with refused ones",
                tag: "Reports", response: "ImportResult", status: 201, query: ["experiment_id", "valid_only"], options: Self.options,
                handler: authenticator.api { request, caller in
            let projectID = try Store.id(request.parameter("project_id"))
            let experimentID = try request.query("experiment_id").map { text in
                guard let id = UUID(uuidString: text) else { throw AppError.invalid("experiment_id", "experiment_id must be an id.") }
                return id
            }
            try routes.check(caller, projectID: projectID, experimentID: experimentID)
            let lease = try routes.capacity.begin(ReportCapacity.key(caller, request))
            defer { lease.end() }
            let stream = request.bodyStream
            let outcome = try CSVImport(caller: caller, projectID: projectID, experimentID: experimentID,
                                        validOnly: request.query("valid_only") == "true")
                .run(routes.store, limit: CSVImport.maximumStreamedBytes) { try stream?.read() }
            guard outcome.imported else {
                let error: JSONValue = ["error": ["code": "invalid_rows", "field": "file",
                                                  "message": .string("\(outcome.refusedCount) of \(outcome.rows) rows were refused; nothing was imported. Fix them, or pass valid_only=true to import the others.")],
                                        "report": outcome.json]
                return .json(bytes: error.bytes, status: .unprocessableContent)
            }
            return .json(bytes: outcome.json.bytes, status: .created)
        })
        router.post("/o/:org/:team/:project/import", options: Self.formOptions) { request in try routes.webImport(request) }
    }

    /// Who may import into the project (and experiment), from the request head alone.
    func check(_ caller: Caller, projectID: UUID, experimentID: UUID?) throws {
        try store.checkImport(caller, projectID: projectID, experimentID: experimentID)
    }

    // MARK: Web form

    func webImport(_ request: Request) throws -> Response {
        let caller = try authenticator.identify(request)
        guard case .user = caller.identity, case .session(_, let csrf) = caller.credential else { throw AppError.unauthorized("Log in first.") }
        // The session and the project first, from the head; the form (with its CSRF token) only then.
        let project = try store.project(caller, at: request)
        try check(caller, projectID: project.id, experimentID: nil)
        let parts = try Multipart.parts(request, body: try request.bodyStream?.readAll() ?? request.body)
        guard let sent = parts.first(where: { $0.name == "csrf_token" }).map({ String(decoding: $0.data, as: UTF8.self) }),
              Crypto.constantTimeEquals(sent, csrf) else {
            throw AppError(.forbidden, code: "csrf", "The form has expired or did not come from Soot; reload the page and try again.")
        }
        guard let file = parts.first(where: { $0.name == "file" }), !file.data.isEmpty else { throw AppError.invalid("file", "Choose a CSV file.") }
        let field = { (name: String) in parts.first { $0.name == name }.map { String(decoding: $0.data, as: UTF8.self) } }
        let experimentID = field("experiment_id").flatMap { UUID(uuidString: $0) }
        try check(caller, projectID: project.id, experimentID: experimentID)
        let lease = try capacity.begin(ReportCapacity.key(caller, request))
        defer { lease.end() }
        let outcome = try CSVImport(caller: caller, projectID: project.id, experimentID: experimentID, validOnly: field("valid_only") == "on")
            .run(store, file.data)
        var html: HTML = "<nav class=\"crumbs\"><a href=\"\(project.path)\">Back to the project</a></nav><h1>Import of \(file.filename ?? "a file")</h1>"
        if outcome.imported && outcome.samplesImported == 0 && outcome.duplicates > 0 {
            html += "<p class=\"notice\" id=\"import-result\">Nothing new: the \(outcome.duplicates) valid rows of this file were imported before.</p>"
        } else if outcome.imported {
            html += "<p class=\"notice\" id=\"import-result\">\(outcome.samplesImported) new rows of \(outcome.rows): "
            html += "\(outcome.runsCreated) new runs, \(outcome.runsExtended) runs extended, \(outcome.duplicates) rows already there"
            html += outcome.refusedCount > 0 ? ", \(outcome.refusedCount) refused.</p>" : ".</p>"
        } else {
            html += "<p class=\"error\" id=\"import-result\">Nothing was imported: \(outcome.refusedCount) of \(outcome.rows) rows were refused. "
            html += "Fix them, or import again with “only the valid rows” ticked.</p>"
        }
        if !outcome.refused.isEmpty {
            html += "<h2>Refused rows</h2><div class=\"table-scroll\" tabindex=\"0\"><table><thead><tr><th class=\"num\">Line</th><th>Column</th><th>Value</th><th>Why</th></tr></thead><tbody>"
            for problem in outcome.refused.prefix(500) {
                html += "<tr><td class=\"num\">\(problem.line)</td><td>\(problem.column)</td><td>\(problem.value)</td>"
                html += "<td>\(problem.message)</td></tr>"
            }
            html += "</tbody></table></div>"
        }
        var response = Response.html(Layout.page(title: "Import", body: html, csrfToken: csrf, signedIn: true),
                                     status: outcome.imported ? .ok : .unprocessableContent)
        response.headers.set("Cache-Control", "private, no-store")
        return response
    }

    /// The import form for a project page.
    static func form(path: String, csrf: String, experiments: [(UUID, String)]) -> HTML {
        var options: HTML = "<option value=\"\">One per CodeCarbon project_name</option>"
        for (id, name) in experiments { options += "<option value=\"\(id.idText)\">\(name)</option>" }
        return """
            <h2 id="import">Import runs recorded offline</h2>
            <form method="post" action="\(path)/import" enctype="multipart/form-data" class="card">
            <input type="hidden" name="csrf_token" value="\(csrf)">
            <label for="import-file">CodeCarbon <code>emissions.csv</code></label><input id="import-file" name="file" type="file" accept=".csv,text/csv" required>
            <label for="import-experiment">Into experiment</label><select id="import-experiment" name="experiment_id">\(options)</select>
            <label class="check"><input type="checkbox" name="valid_only"> Import only the valid rows if some are refused</label>
            <button type="submit">Import</button>
            </form>
            """
    }
}

/// `multipart/form-data` (RFC 7578) bodies: the parts, their names and file names.
enum Multipart {
    struct Part {
        let name: String
        let filename: String?
        let data: [UInt8]
    }

    static func parts(_ request: Request, body: [UInt8]) throws -> [Part] {
        let type = request.headers["Content-Type"] ?? ""
        guard type.lowercased().hasPrefix("multipart/form-data"),
              let boundaryParameter = type.split(separator: ";").map({ $0.trimmingOWS() }).first(where: { $0.lowercased().hasPrefix("boundary=") }) else {
            throw AppError.unsupportedMediaType()
        }
        var boundary = String(boundaryParameter.dropFirst("boundary=".count))
        if boundary.hasPrefix("\""), boundary.hasSuffix("\""), boundary.count >= 2 { boundary = String(boundary.dropFirst().dropLast()) }
        guard !boundary.isEmpty, boundary.utf8.count <= 70 else { throw AppError.badRequest("The multipart boundary is not valid.") }
        return try parts(body, boundary: boundary)
    }

    static func parts(_ body: [UInt8], boundary: String) throws -> [Part] {
        let delimiter = Array("--\(boundary)".utf8)
        let separator = Array("\r\n--\(boundary)".utf8)
        guard var position = find(delimiter, in: body, from: 0) else { throw AppError.badRequest("The multipart body has no parts.") }
        position += delimiter.count
        var parts: [Part] = []
        while true {
            // After a delimiter: "--" ends the body, CRLF starts a part.
            if body.count >= position + 2 && body[position] == UInt8(ascii: "-") && body[position + 1] == UInt8(ascii: "-") { break }
            guard body.count >= position + 2, body[position] == 0x0D, body[position + 1] == 0x0A else {
                throw AppError.badRequest("The multipart body is malformed.")
            }
            position += 2
            guard let headerEnd = find(Array("\r\n\r\n".utf8), in: body, from: position) else {
                throw AppError.badRequest("A multipart part has no end of headers.")
            }
            let headers = String(decoding: body[position..<headerEnd], as: UTF8.self)
            let dataStart = headerEnd + 4
            guard let dataEnd = find(separator, in: body, from: dataStart) else { throw AppError.badRequest("A multipart part is not closed.") }
            var name = "", filename: String?
            for line in headers.split(separator: "\r\n") where line.lowercased().hasPrefix("content-disposition:") {
                for parameter in line.split(separator: ";").dropFirst() {
                    let pair = parameter.trimmingOWS().split(separator: "=", maxSplits: 1).map(String.init)
                    guard pair.count == 2 else { continue }
                    var value = pair[1]
                    if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                    if pair[0].lowercased() == "name" { name = value }
                    if pair[0].lowercased() == "filename" { filename = value }
                }
            }
            parts.append(Part(name: name, filename: filename, data: Array(body[dataStart..<dataEnd])))
            position = dataEnd + separator.count
        }
        return parts
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        let first = needle[0]
        var index = start
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first && haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
