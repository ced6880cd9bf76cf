import HTTPServer

/// Minimal HTML pages for errors until the full layout exists; every piece of text is escaped.
enum HTMLPage {
    /// A friendly error page in the common layout; the message is one of Soot's own, escaped anyway.
    static func error(status: HTTPStatus, message: String) -> String {
        let hint: String
        switch status.code {
        case 404: hint = "It may have moved, been deleted, or belong to an organization you are not in."
        case 401, 403: hint = "You may need to log in with another account."
        case 500...: hint = "Please try again in a moment."
        default: hint = ""
        }
        return Layout.page(title: "\(status.code) \(status.reason)", body: """
            <section class="error-page"><h1>\(status.code) · \(escape(status.reason))</h1><p>\(escape(message))</p>
            <p class="muted">\(escape(hint))</p><p><a href="/">Back to Soot</a></p></section>
            """)
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
