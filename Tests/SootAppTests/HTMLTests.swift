import Foundation
import HTTPServer
@testable import SootStore
@testable import SootWeb
import Testing

/// Pages are `HTML`, built by interpolation: text is escaped on the way in, markup is embedded as it is.
@Suite struct HTMLTests {
    @Test func textIsEscapedAndMarkupIsNot() {
        let name = "<script>alert('x')</script> & \"friends\""
        let cell: HTML = "<td>\(name)</td>"
        #expect(cell.text == "<td>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;friends&quot;</td>")
        let row: HTML = "<tr>\(cell)</tr>"
        #expect(row.text == "<tr>" + cell.text + "</tr>")
        let count = 42
        let negative = -7
        #expect(("<b>\(count) \(negative)</b>" as HTML).text == "<b>42 -7</b>")
        let stored = "<em>kept</em>"
        #expect(("\(unsafeHTML: stored)" as HTML).text == stored)
        #expect(("a" + ("<i>\("&")</i>" as HTML)).text == "a<i>&amp;</i>")
        #expect(HTML.joined(["<li>1</li>", "<li>\("<2>")</li>"], separator: "\n").text == "<li>1</li>\n<li>&lt;2&gt;</li>")
        let attribute: HTML = "<input value=\"\("\" onfocus=\"alert(1)")\">"
        #expect(!attribute.text.contains("\" onfocus"))
        #expect(("\("plain text, no special characters")" as HTML).text == "plain text, no special characters")
    }

    @Test func pagesAndErrorsEscapeWhatTheyAreGiven() {
        let page = Layout.page(title: "<title>", body: "<p>\("<b>bold?</b>")</p>", csrfToken: "a\"b", signedIn: true)
        #expect(page.text.contains("<title>&lt;title&gt; · Soot</title>"))
        #expect(page.text.contains("<p>&lt;b&gt;bold?&lt;/b&gt;</p>"))
        #expect(page.text.contains("value=\"a&quot;b\""))
        let error = HTMLPage.error(status: .notFound, message: "No <such> thing")
        #expect(error.text.contains("<p>No &lt;such&gt; thing</p>"))
        let response = Response.html(page)
        #expect(response.headers["Content-Type"]?.hasPrefix("text/html") == true)
    }

    @Test func chartsEscapeLabelsAndTitles() {
        let chart = Charts.breakdown([(label: "<a>", value: 2), (label: "b\"", value: 1)], scale: (unit: "<kg>", perKilogram: 1),
                                     title: "T & T")
        #expect(chart.text.contains("&lt;a&gt;") && !chart.text.contains("<a>"))
        #expect(chart.text.contains("b&quot;"))
        #expect(chart.text.contains("&lt;kg&gt; CO2e") && chart.text.contains("T &amp; T"))
    }
}

/// Views are pure functions of what the store returns: tested without a server or a database.
@Suite struct ViewTests {
    @Test func aProjectsSettingsShowItsTokensAndSharing() {
        let token = Store.ProjectTokenSummary(id: UUID(uuidString: "00000000-0000-4000-8000-000000000001")!, name: "cluster <b>",
                                              prefix: "soot_prj_abc", scope: "write", lastUsedAt: nil)
        let shared = ProjectViews.settings(Store.ProjectSharing(tokens: [token], isPublic: true, publicPath: "/p/abcdef"),
                                           path: "/o/a/t/p", csrf: "csrf\"token")
        #expect(shared.text.contains("<td>cluster &lt;b&gt;</td>"))
        #expect(shared.text.contains("action=\"/o/a/t/p/tokens/00000000-0000-4000-8000-000000000001/revoke\""))
        #expect(shared.text.contains("<td>never</td>"))
        #expect(shared.text.contains("<a href=\"/p/abcdef\">/p/abcdef</a>") && shared.text.contains("Stop sharing"))
        #expect(shared.text.contains("value=\"csrf&quot;token\""))
        let private_ = ProjectViews.settings(Store.ProjectSharing(tokens: [], isPublic: false, publicPath: nil), path: "/o/a/t/p", csrf: "x")
        #expect(private_.text.contains("No active ingest token.") && private_.text.contains("Create a read-only public link"))
    }

    @Test func managementPanelsListMembersAndInvitations() {
        let member = Store.MemberRow(id: UUID(uuidString: "00000000-0000-4000-8000-00000000000a")!, email: "a<b>@x.test", role: "admin")
        let invitation = Store.PendingInvitation(id: UUID(uuidString: "00000000-0000-4000-8000-00000000000b")!, email: "new@x.test",
                                                 role: "member", expiresAt: Date(timeIntervalSince1970: 1_800_000_000))
        let organization = ManagementViews.panel(.organization(members: [member], invitations: [invitation]), path: "/o/acme", csrf: "t")
        #expect(organization.text.contains("<td>a&lt;b&gt;@x.test</td>"))
        #expect(organization.text.contains("<option value=\"admin\" selected>admin</option>"))
        #expect(organization.text.contains("action=\"/o/acme/invitations/00000000-0000-4000-8000-00000000000b/revoke\""))
        #expect(organization.text.contains("<td>2027-01-15</td>"))
        #expect(ManagementViews.panel(.none, path: "/o/acme", csrf: "t").isEmpty)
        let team = ManagementViews.panel(.team(admin: false, members: []), path: "/o/acme/ml", csrf: "t")
        #expect(team.text.contains("New project") && !team.text.contains("Team members"))
        // Removing a member is its own button, not a role; a rename field starts with the current name.
        #expect(!organization.text.contains("<option value=\"remove\"") && organization.text.contains("Remove from the organization"))
        let project = ManagementViews.panel(.project, path: "/o/acme/ml/vision", csrf: "t", name: "Vision \"v2\"")
        #expect(project.text.contains("name=\"name\" required maxlength=\"200\" value=\"Vision &quot;v2&quot;\""))
        // No heading repeats the children table's ("Experiments" above the table and again above the form).
        #expect(!project.text.contains("<h2>Experiments</h2>"))
    }

    @Test func thePublicLinkIsShownWhole() {
        let shared = ProjectViews.settings(Store.ProjectSharing(tokens: [], isPublic: true, publicPath: "/p/abcdef"),
                                           path: "/o/a/t/p", csrf: "x", base: "https://soot.example.com")
        #expect(shared.text.contains("<a href=\"https://soot.example.com/p/abcdef\">https://soot.example.com/p/abcdef</a>"))
    }
}
