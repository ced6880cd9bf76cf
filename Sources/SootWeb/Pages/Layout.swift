import Foundation
import SootStore
import HTTPServer

/// The page shell shared by every HTML page. It takes and gives `HTML`, so whatever text reaches a page has been
/// escaped on the way in.
enum Layout {
    static func page(title: String, body: HTML, csrfToken: String? = nil, signedIn: Bool = false) -> HTML {
        let logout: HTML = signedIn && csrfToken != nil
            ? """
              <a href="/account">Account</a><form method="post" action="/logout" class="inline"><input type="hidden" name="csrf_token" value="\(csrfToken!)"><button type="submit" class="link">Log out</button></form>
              """
            : ""
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title) · Soot</title>
            <link rel="stylesheet" href="/static/soot.css">
            <link rel="icon" href="/favicon.ico" type="image/svg+xml">
            <script src="/static/soot.js" defer></script>
            </head>
            <body>
            <a class="skip" href="#main">Skip to content</a>
            <header class="top"><a class="brand" href="/">Soot</a><nav aria-label="Account">\(logout)</nav></header>
            <main id="main">
            \(body)
            </main>
            </body>
            </html>
            """
    }
}

/// A moment as the server writes it (`2026-11-29 05:10 UTC`), which the page's script shows in the viewer's
/// own time zone; the exact instant is in `datetime`.
func localTime(_ date: Date) -> HTML {
    let iso = ISOTime.format(date)
    return "<time datetime=\"\(iso)\" data-local>\(iso.prefix(16).replacingOccurrences(of: "T", with: " ")) UTC</time>"
}

extension Response {
    /// An HTML page (`text/html; charset=utf-8`); only `HTML` is accepted, so nothing unescaped reaches it.
    static func html(_ page: HTML, status: HTTPStatus = .ok) -> Response {
        .html(page.text, status: status)
    }
}
