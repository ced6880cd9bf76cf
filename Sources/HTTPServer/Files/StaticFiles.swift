import Foundation

/// Serves files below a folder: content types, `ETag` and `Last-Modified` with 304 answers, `Cache-Control`.
/// Paths are decoded by the router first; `..`, `.`, hidden names and anything resolving outside the folder
/// (a symbolic link out, say) answer 404.
public struct StaticFiles: Sendable {
    public let root: URL
    private let resolvedRoot: String
    /// `Cache-Control` sent with every file. Default: one hour.
    public let cacheControl: String

    public init(root: URL, cacheControl: String = "public, max-age=3600") {
        self.root = root
        self.resolvedRoot = root.resolvingSymlinksInPath().standardizedFileURL.path
        self.cacheControl = cacheControl
    }

    /// A handler for a route whose pattern ends in `*path`.
    public func handler(parameter: String = "path", notFound: @escaping @Sendable (Request) -> Response) -> Handler {
        { request in
            guard let relative = request.parameters[parameter] else { return notFound(request) }
            return respond(to: request, relativePath: relative) ?? notFound(request)
        }
    }

    /// The response for `relativePath`, or nil when there is no such (allowed) file.
    public func respond(to request: Request, relativePath: String) -> Response? {
        let segments = relativePath.split(separator: "/", omittingEmptySubsequences: true)
        guard !segments.isEmpty else { return nil }
        for segment in segments {
            if segment == ".." || segment == "." || segment.hasPrefix(".") || segment.contains("\0") || segment.contains("\\") {
                return nil
            }
        }
        let candidate = segments.reduce(root) { $0.appendingPathComponent(String($1)) }
        let resolved = candidate.resolvingSymlinksInPath().standardizedFileURL.path
        guard resolved.hasPrefix(resolvedRoot + "/") else { return nil }
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: resolved),
              attributes[.type] as? FileAttributeType == .typeRegular,
              let size = attributes[.size] as? Int,
              let modified = attributes[.modificationDate] as? Date else { return nil }
        let seconds = Int(modified.timeIntervalSince1970)
        let etag = "\"\(String(size, radix: 16))-\(String(seconds, radix: 16))\""
        var headers = HTTPHeaders()
        headers.set("ETag", etag)
        headers.set("Last-Modified", HTTPDate.format(time_t(seconds)))
        headers.set("Cache-Control", cacheControl)
        if let match = request.headers["If-None-Match"] {
            if match == "*" || match.split(separator: ",").contains(where: { $0.trimmingOWS().replacingOccurrences(of: "W/", with: "") == etag }) {
                return Response(status: .notModified, headers: headers)
            }
        } else if let since = request.headers["If-Modified-Since"], let time = HTTPDate.parse(since), seconds <= Int(time) {
            return Response(status: .notModified, headers: headers)
        }
        guard let data = FileManager.default.contents(atPath: resolved) else { return nil }
        headers.set("Content-Type", StaticFiles.contentType(for: resolved))
        headers.set("X-Content-Type-Options", "nosniff")
        return Response(status: .ok, headers: headers, body: .bytes([UInt8](data)))
    }

    static let types: [String: String] = [
        "css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8", "html": "text/html; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif",
        "ico": "image/x-icon", "webp": "image/webp", "woff2": "font/woff2", "woff": "font/woff", "txt": "text/plain; charset=utf-8",
        "json": "application/json", "csv": "text/csv; charset=utf-8", "webmanifest": "application/manifest+json",
        "xml": "application/xml", "map": "application/json",
    ]

    /// The media type for a file name's extension (`application/octet-stream` when unknown).
    public static func contentType(for path: String) -> String {
        let ext = (path as NSString).pathExtension.lowercased()
        return types[ext] ?? "application/octet-stream"
    }
}
