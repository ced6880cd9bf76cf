import HTTPServer

/// The page shell shared by every HTML page. Callers pass already-escaped fragments; `HTML.escape` is the
/// only way user text gets into them.
enum Layout {
    static func page(title: String, body: String, csrfToken: String? = nil, signedIn: Bool = false) -> String {
        let logout = signedIn && csrfToken != nil
            ? """
              <form method="post" action="/logout" class="inline"><input type="hidden" name="csrf_token" value="\(HTML.escape(csrfToken!))"><button type="submit" class="link">Log out</button></form>
              """
            : ""
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title)) · Soot</title>
            <link rel="stylesheet" href="/static/soot.css">
            <link rel="icon" href="/favicon.ico" type="image/svg+xml">
            </head>
            <body>
            <header class="top"><a class="brand" href="/">Soot</a><nav>\(logout)</nav></header>
            <main>
            \(body)
            </main>
            </body>
            </html>
            """
    }
}

/// HTML escaping for text and attribute values.
enum HTML {
    static func escape(_ text: String) -> String { HTMLPage.escape(text) }
}
