import Foundation
import HTTPServer
import SootStore
import Synchronization

/// Establishes the `Caller` of a request: `Authorization: Bearer` token, `x-api-token` project token, or the
/// session cookie. A session-authenticated request that changes something must carry the session's CSRF token
/// (form field `csrf_token` or header `X-CSRF-Token`).
struct Authenticator: Sendable {
    let store: Store
    let sessions: SessionStore
    /// Verified project tokens for a few seconds, so the ingest hot path does not query for every post. Revocation
    /// through this instance clears it at once; another instance's cache forgets within `TokenCache.lifetime`.
    let tokenCache = TokenCache()
    /// Whose `X-Forwarded-For` names the client (the address the audit trail records).
    var proxies = TrustedProxies.none

    /// The caller, without the CSRF check: for reading (GET pages), and for the one form whose CSRF token travels
    /// inside a multipart body (the import upload checks it itself). Anonymous when no credential was sent; a
    /// credential that is sent but invalid is a 401. Anything that changes state uses `authenticate`.
    func identify(_ request: Request) throws -> Caller {
        withOrigin(try credentialCaller(request), request)
    }

    /// `caller` with the request's client address and id (for the audit trail).
    func withOrigin(_ caller: Caller, _ request: Request) -> Caller {
        var caller = caller
        caller.address = proxies.clientAddress(request)
        caller.requestID = request.id
        if store.replica != nil {
            caller.minimumLSN = (request.headers["Soot-LSN"] ?? Cookies.value(Authenticator.positionCookie, in: request)).flatMap(ReadReplica.parse)
        }
        return caller
    }

    /// The cookie that carries the primary's position after a person's last write (read-your-writes on a replica).
    static let positionCookie = "soot_lsn"
    /// Whether cookies are `Secure` (set from the application's configuration).
    var secureCookies = false

    /// After a write that succeeded, with a replica: the primary's position now, as a cookie (browsers) and a
    /// `Soot-LSN` header (API clients may send it back), so that the caller's next reads see their write.
    func markWrite(_ request: Request, _ response: inout Response) {
        guard store.replica != nil, ![HTTPMethod.get, .head, .options].contains(request.method), response.status.code < 400,
              let position = try? store.primaryPosition() else { return }
        let text = ReadReplica.format(position)
        response.headers.set("Soot-LSN", text)
        response.headers.add("Set-Cookie", Cookies.make(Authenticator.positionCookie, text, maxAge: 300,
                                                        secure: secureCookies || proxies.isHTTPS(request)))
    }

    /// The caller a request's credential names, before its origin is added.
    private func credentialCaller(_ request: Request) throws -> Caller {
        if let authorization = request.headers["Authorization"] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else {
                throw AppError.unauthorized("Use 'Authorization: Bearer <token>'.")
            }
            return try callerForToken(String(parts[1]).trimmingOWS())
        }
        if let token = request.headers["x-api-token"] {
            return try callerForToken(token.trimmingOWS())
        }
        if let cookie = Cookies.value(SessionStore.cookieName, in: request), let session = try sessions.find(cookie: cookie) {
            var caller = Caller(identity: .user(session.userID), credential: .session(id: session.id, csrfToken: session.csrfToken),
                                canWrite: true)
            caller.mustChangePassword = session.mustChangePassword
            return caller
        }
        return .anonymous
    }

    /// The caller from a token header when it is in the cache; nil when finding out would need the database
    /// (or the request has no token), so an event-loop handler can offload itself.
    func cachedCaller(_ request: Request) -> Caller? {
        var token: String?
        if let authorization = request.headers["Authorization"] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
            token = String(parts[1]).trimmingOWS()
        } else if let header = request.headers["x-api-token"] {
            token = header.trimmingOWS()
        }
        guard let token, TokenFormat.kind(of: token) != nil else { return nil }
        return tokenCache.caller(for: TokenFormat.digest(token))
    }

    /// The caller, with the session's CSRF token enforced on unsafe methods: the safe variant has the plain name.
    func authenticate(_ request: Request) throws -> Caller {
        let caller = try identify(request)
        if case .session(_, let csrf) = caller.credential, ![HTTPMethod.get, .head, .options].contains(request.method) {
            let sent = request.headers["X-CSRF-Token"] ?? request.formField("csrf_token") ?? ""
            guard Crypto.constantTimeEquals(sent, csrf) else {
                throw AppError(.forbidden, code: "csrf", "The form has expired or did not come from Soot; reload the page and try again.")
            }
        }
        return caller
    }

    /// The signed-in person behind a page's form post (session and CSRF checked), with the session's CSRF token.
    func sessionUser(_ request: Request) throws -> (Caller, String) {
        let caller = try authenticate(request)
        guard case .user = caller.identity, case .session(_, let csrf) = caller.credential else {
            throw AppError.unauthorized("Log in first.")
        }
        return (caller, csrf)
    }

    /// Verifies a token: looked up by prefix, compared by SHA-256 in constant time, not revoked or expired.
    func callerForToken(_ token: String) throws -> Caller {
        guard let (kind, prefix) = TokenFormat.parse(token) else { throw AppError.unauthorized("The token is not valid.") }
        let digest = TokenFormat.digest(token)
        if let cached = tokenCache.caller(for: digest) { return cached }
        let caller = try lookUp(token, kind: kind, prefix: prefix, hash: Crypto.hex(digest.bytes))
        // Only project tokens (the ingest hot path) are cached. A personal token is checked every time, so a
        // password reset or "sign out everywhere" ends it at once on every instance, the command line's included.
        if kind == .project { tokenCache.store(caller, for: digest) }
        return caller
    }

    private func lookUp(_ token: String, kind: TokenFormat.Kind, prefix: String, hash: String) throws -> Caller {
        try store.caller(tokenKind: kind, prefix: prefix, hash: hash)
    }
}

/// Recently verified tokens by SHA-256, with a short lifetime.
final class TokenCache: Sendable {
    static let lifetime: Double = 10
    private let entries = Mutex<[Crypto.Digest: (caller: Caller, expires: Double)]>([:])

    func caller(for digest: Crypto.Digest) -> Caller? {
        let now = Date().timeIntervalSince1970
        return entries.withLock { entries in
            guard let entry = entries[digest], entry.expires > now else { return nil }
            return entry.caller
        }
    }

    func store(_ caller: Caller, for digest: Crypto.Digest) {
        let expires = Date().timeIntervalSince1970 + TokenCache.lifetime
        entries.withLock { entries in
            if entries.count > 10_000 { entries.removeAll() }
            entries[digest] = (caller, expires)
        }
    }

    /// Forgets every cached token (after a revocation).
    func clear() { entries.withLock { $0.removeAll() } }
}
