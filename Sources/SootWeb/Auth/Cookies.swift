import SootStore
import HTTPServer

/// Reading the `Cookie` header and writing `Set-Cookie` values.
enum Cookies {
    /// The value of cookie `name` from the request, if present.
    static func value(_ name: String, in request: Request) -> String? {
        for header in request.headers.values("Cookie") {
            for pair in header.split(separator: ";") {
                let trimmed = pair.trimmingOWS()
                guard let equals = trimmed.firstIndex(of: "=") else { continue }
                if trimmed[..<equals] == name {
                    return String(trimmed[trimmed.index(after: equals)...])
                }
            }
        }
        return nil
    }

    /// A `Set-Cookie` value: `HttpOnly` and `SameSite=Lax` always, `Secure` when asked.
    static func make(_ name: String, _ value: String, maxAge: Int, secure: Bool, httpOnly: Bool = true) -> String {
        var text = "\(name)=\(value); Path=/; Max-Age=\(maxAge); SameSite=Lax"
        if httpOnly { text += "; HttpOnly" }
        if secure { text += "; Secure" }
        return text
    }

    /// A `Set-Cookie` value that deletes the cookie.
    static func expire(_ name: String, secure: Bool) -> String { make(name, "", maxAge: 0, secure: secure) }
}
