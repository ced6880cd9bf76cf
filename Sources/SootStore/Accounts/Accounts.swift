import Foundation
import Postgres

/// Operator-level account management, shared by the command line and the server.
package enum Accounts {
    /// Validates an email address loosely (one @, something on each side, no spaces) and normalises case.
    package static func validEmail(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard trimmed.count >= 3, trimmed.count <= 320, parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
              !trimmed.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" }) else { return nil }
        return trimmed
    }

    /// A readable random password: 4 groups of 5 letters and digits (about 100 bits).
    package static func generatePassword() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        let bytes = Crypto.randomBytes(20)
        var groups: [String] = []
        for group in 0..<4 {
            groups.append(String((0..<5).map { alphabet[Int(bytes[group * 5 + $0]) % alphabet.count] }))
        }
        return groups.joined(separator: "-")
    }

    /// Creates a user; with no password given, generates one and returns it.
    @discardableResult
    package static func createUser(
        _ connection: DatabaseConnection, email: String, name: String, password: String?, isOperator: Bool = false
    ) throws -> (id: UUID, generatedPassword: String?) {
        guard let email = validEmail(email) else { throw AppError.invalid("email", "That is not an email address.") }
        if let password, password.count < 10 {
            throw AppError.invalid("password", "A password needs at least 10 characters.")
        }
        let chosen = password ?? generatePassword()
        let row = try connection.query("""
            INSERT INTO users (email, name, password_hash, is_operator, must_change_password)
            VALUES (\(email), \(name), \(PasswordHasher.hash(chosen)), \(isOperator), \(password == nil))
            RETURNING id
            """).first!
        return (try row.decode("id"), password == nil ? chosen : nil)
    }

    /// What a reset or "sign out everywhere" ended.
    package struct Ended: Sendable, Equatable {
        package var sessions: Int
        package var personalTokens: Int
    }

    /// Sets a new password (generated when nil), ends the user's sessions and revokes their personal tokens:
    /// whoever knew the old password may have made either. Returns the generated password and what ended.
    package static func resetPassword(_ connection: DatabaseConnection, email: String, password: String?,
                                      actor: AuditActor = .commandLine) throws
        -> (password: String?, ended: Ended)
    {
        if let password, password.count < 10 {
            throw AppError.invalid("password", "A password needs at least 10 characters.")
        }
        let chosen = password ?? generatePassword()
        guard let row = try connection.query("""
            UPDATE users SET password_hash = \(PasswordHasher.hash(chosen)), must_change_password = \(password == nil)
            WHERE lower(email) = lower(\(email)) RETURNING id
            """).first else { throw AppError.notFound("No user with that email.") }
        let userID: UUID = try row.decode("id")
        let ended = try endCredentials(connection, userID: userID)
        try Audit.record(connection, actor, .passwordReset, organization: nil, object: AuditObject("user", userID, email),
                         new: [("generated", String(password == nil)), ("sessions_ended", String(ended.sessions)),
                               ("personal_tokens_revoked", String(ended.personalTokens))])
        return (password == nil ? chosen : nil, ended)
    }

    /// Ends every session of the user and revokes every personal token they hold ("sign out everywhere").
    /// Project tokens stay: they belong to projects, not to the person who made them.
    package static func endCredentials(_ connection: DatabaseConnection, userID: UUID) throws -> Ended {
        let sessions = try connection.query("DELETE FROM sessions WHERE user_id = \(userID)").affectedRows
        let tokens = try connection.query("""
            UPDATE api_tokens SET revoked_at = now() WHERE kind = 'personal' AND user_id = \(userID) AND revoked_at IS NULL
            """).affectedRows
        return Ended(sessions: sessions, personalTokens: tokens)
    }

    package static func userID(_ connection: DatabaseConnection, email: String) throws -> UUID? {
        try connection.query("SELECT id FROM users WHERE lower(email) = lower(\(email))").first?.decode("id")
    }

    package static func userCount(_ connection: DatabaseConnection) throws -> Int {
        try connection.query("SELECT count(*) AS n FROM users").first!.decode("n")
    }
}
