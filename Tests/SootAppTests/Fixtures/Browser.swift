import Foundation
import HTTPServer
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

extension RawResponse {
    /// `name=value` of each Set-Cookie, keyed by name.
    var cookies: [String: String] {
        var result: [String: String] = [:]
        for header in headers("Set-Cookie") {
            let pair = header.split(separator: ";")[0]
            if let equals = pair.firstIndex(of: "=") { result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...]) }
        }
        return result
    }
}

/// A browser-like session: keeps cookies, reads CSRF tokens from forms.
struct Browser {
    let app: AppFixture
    var cookies: [String: String] = [:]

    var cookieHeader: [(String, String)] {
        cookies.isEmpty ? [] : [("Cookie", cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))]
    }

    mutating func get(_ path: String) throws -> RawResponse {
        let response = try app.send("GET", path, headers: cookieHeader)
        absorb(response)
        return response
    }

    mutating func post(_ path: String, form: [(String, String)]) throws -> RawResponse {
        let body = form.map { "\(FormDecoding.encode($0.0))=\(FormDecoding.encode($0.1))" }.joined(separator: "&")
        let response = try app.send("POST", path, headers: cookieHeader + [("Content-Type", "application/x-www-form-urlencoded")],
                                    body: Array(body.utf8))
        absorb(response)
        return response
    }

    mutating func absorb(_ response: RawResponse) {
        for (name, value) in response.cookies {
            if value.isEmpty { cookies[name] = nil } else { cookies[name] = value }
        }
    }

    static func csrf(in html: String) -> String? {
        guard let range = html.range(of: "name=\"csrf_token\" value=\"") else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    mutating func logIn(email: String, password: String, next: String = "/") throws -> RawResponse {
        let form = try get("/login")
        let token = try #require(Browser.csrf(in: form.text))
        return try post("/login", form: [("csrf_token", token), ("email", email), ("password", password), ("next", next)])
    }
}


extension Browser {
    /// A browser signed in as `email` (the bootstrap's owner by default), every user's password first set to a known
    /// one (the bootstrap's is for one sign-in only).
    static func signedIn(_ app: AppFixture, email: String = Agent.email("Acme")) throws -> Browser {
        try app.pool.query("UPDATE users SET password_hash = \(PasswordHasher.hash("a long password 123", iterations: 1000)), must_change_password = false")
        var browser = Browser(app: app)
        try #require(try browser.logIn(email: email, password: "a long password 123").status == 303)
        return browser
    }
}
