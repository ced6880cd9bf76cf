import Foundation
import HTTPServer
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

func makeUser(_ pool: ConnectionPool, email: String, scope: String = "write") throws -> (id: UUID, token: String) {
    try pool.transaction { connection in
        let (id, _) = try Accounts.createUser(connection, email: email, name: "", password: "a long password 123")
        let (_, token) = try Store.insertToken(connection, kind: .personal, name: "test", scope: scope, userID: id,
                                               organizationID: nil, projectID: nil, createdBy: id, expiresInDays: nil)
        return (id, token)
    }
}

/// Invites `email` into the organization and accepts with that person's personal token: how someone joins.
func invite(_ app: AppFixture, organization: String, by inviter: String, email: String, role: String = "member",
            acceptedWith token: String) throws {
    let invitation = try app.api("POST", "/api/v1/organizations/\(organization)/invitations", token: inviter,
                                 json: ["email": .string(email), "role": .string(role)])
    #expect(invitation.status == 201, "\(invitation.body)")
    let link = try #require(invitation.body["link"]?.stringValue)
    let secret = String(link.split(separator: "/").last ?? "")
    let accepted = try app.api("POST", "/api/v1/invitations/accept", token: token, json: ["secret": .string(secret)])
    #expect(accepted.status == 200, "\(accepted.body)")
}

