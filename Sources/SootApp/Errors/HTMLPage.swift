import HTTPServer

/// Minimal HTML pages for errors until the full layout exists; every piece of text is escaped.
enum HTMLPage {
    static func error(status: HTTPStatus, message: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(status.code) \(escape(status.reason)) · Soot</title><link rel="stylesheet" href="/static/soot.css"></head>
        <body><main class="error-page"><h1>\(status.code) \(escape(status.reason))</h1><p>\(escape(message))</p>
        <p><a href="/">Back to Soot</a></p></main></body></html>
        """
    }

    /// Escapes `& < > " '` for HTML text and attribute values.
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.unicodeScalars.append(character)
            }
        }
        return result
    }
}
