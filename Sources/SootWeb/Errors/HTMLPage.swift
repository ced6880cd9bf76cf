import SootStore
import HTTPServer

/// Error pages in the common layout.
enum HTMLPage {
    /// A friendly error page; the message is one of Soot's own, escaped anyway.
    static func error(status: HTTPStatus, message: String, requestID: String = "") -> HTML {
        let hint: String
        switch status.code {
        case 404: hint = "It may have moved, been deleted, or belong to an organization you are not in."
        case 401, 403: hint = "You may need to log in with another account."
        case 500...: hint = "Please try again in a moment."
        default: hint = ""
        }
        let reference: HTML = requestID.isEmpty ? "" : """
            <p class="muted small">Request id <code>\(requestID)</code>: quote it to whoever runs Soot, who can find it in the log.</p>
            """
        return Layout.page(title: "\(status.code) \(status.reason)", body: """
            <section class="error-page"><h1>\(status.code) · \(status.reason)</h1><p>\(message)</p>
            <p class="muted">\(hint)</p><p><a href="/">Back to Soot</a></p>\(reference)</section>
            """)
    }
}
