import Emissions
import Foundation
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

@Suite struct DashboardTests {
    /// A signed-in browser and an agent that has posted a few runs.
    func setUp(_ app: AppFixture) throws -> (Browser, Agent, [String]) {
        let agent = try Agent(app, organization: "Acme <b>&co</b>", project: "Vision \"quoted\"")
        try app.pool.query("UPDATE users SET password_hash = \(PasswordHasher.hash("a long password 123", iterations: 1000)), must_change_password = false")
        var browser = Browser(app: app)
        _ = try browser.logIn(email: Agent.email("Acme <b>&co</b>"), password: "a long password 123")
        var runs: [String] = []
        for index in 0..<3 {
            let start = Date().addingTimeInterval(Double(-index) * 86_400 - 3_600)
            let report = try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: [
                "experiment_id": .string(agent.experimentID), "started_at": .string(ISOTime.format(start)),
                "ended_at": .string(ISOTime.format(start.addingTimeInterval(600))), "cpu_model": "<script>cpu</script>",
                "totals": ["energy_kwh": .number(1.5 + Double(index)), "emissions_kg": .number(0.1 * Double(index + 1))],
            ])
            runs.append(report.body["id"]!.stringValue!)
        }
        return (browser, agent, runs)
    }

    @Test func membersSeeTheOrganizationsTotalAndOnlyTheirTeamsSplit() throws {
        try withApp { app in
            let agent = try Agent(app, organization: "Acme", project: "Vision")
            // A second team with its own project and run: 0.25 kg in ML, 0.5 kg in Speech.
            let teams = try app.api("POST", "/api/v1/organizations/\(agent.organizationID)/teams", token: agent.personalToken, json: ["name": "Speech"])
            let speech = try #require(teams.body["id"]?.stringValue)
            let project = try app.api("POST", "/api/v1/teams/\(speech)/projects", token: agent.personalToken, json: ["name": "Whisper"])
            let experiment = try app.api("POST", "/api/v1/projects/\(project.body["id"]!.stringValue!)/experiments", token: agent.personalToken,
                                         json: ["name": "base"])
            for (experimentID, kilograms) in [(agent.experimentID, 0.25), (experiment.body["id"]!.stringValue!, 0.5)] {
                let start = ISOTime.format(Date().addingTimeInterval(-3_600))
                #expect(try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: [
                    "experiment_id": .string(experimentID), "started_at": .string(start),
                    "totals": ["energy_kwh": 1, "emissions_kg": .number(kilograms), "duration_seconds": 60],
                ]).status == 201)
            }
            let (_, memberToken) = try makeUser(app.pool, email: "plain@acme.test")
            try invite(app, organization: agent.organizationID, by: agent.personalToken, email: "plain@acme.test", acceptedWith: memberToken)
            var member = Browser(app: app)
            #expect(try member.logIn(email: "plain@acme.test", password: "a long password 123").status == 303)
            // In no team: the organization's total (it was "0 kg" and "Nothing here yet."), no team's figures or name.
            let outside = try member.get("/o/acme").text
            #expect(outside.contains("id=\"total-emissions\"><div class=\"value\">750 <small>g CO2e</small>"))
            #expect(outside.contains("These totals are the whole organization's") && outside.contains("Your teams (0 of 2)"))
            #expect(outside.contains("You are in none of its teams yet") && !outside.contains("Speech") && !outside.contains(">ML<"))
            // In ML: the same total, ML's split only, labelled as theirs.
            let ml = try app.pool.query("SELECT id FROM teams WHERE name = 'ML'").first!.decode("id", as: UUID.self)
            #expect(try app.api("POST", "/api/v1/teams/\(ml.lowercaseText)/members", token: agent.personalToken,
                                json: ["email": "plain@acme.test"]).status == 201)
            let inside = try member.get("/o/acme").text
            #expect(inside.contains("id=\"total-emissions\"><div class=\"value\">750 <small>g CO2e</small>"))
            #expect(inside.contains("Your teams (1 of 2)") && inside.contains("Emissions per day, your teams"))
            #expect(inside.contains(">ML</a>") && !inside.contains("Speech"))
            // An owner sees every team, with no such note.
            var owner = Browser(app: app)
            try app.pool.query("UPDATE users SET password_hash = \(PasswordHasher.hash("a long password 123", iterations: 1000)), must_change_password = false WHERE email = \(Agent.email("Acme"))")
            _ = try owner.logIn(email: Agent.email("Acme"), password: "a long password 123")
            let all = try owner.get("/o/acme").text
            #expect(all.contains("Speech") && !all.contains("These totals are the whole organization's"))
        }
    }

    @Test func pagesShowTheDatabaseTotalsAndEscapeNames() throws {
        try withApp { app in
            let (browser, agent, runs) = try setUp(app)
            var signedIn = browser
            // The login above used the bootstrap email; check it worked before going on.
            let home = try signedIn.get("/")
            try #require(home.status == 200, "login failed")
            #expect(home.text.contains("Acme &lt;b&gt;&amp;co&lt;/b&gt;"))
            #expect(!home.text.contains("<b>&co</b>"))
            for run in runs { #expect(home.text.contains("/run/\(run)")) }

            let slug = try app.pool.query("SELECT slug FROM organizations WHERE id = \(UUID(uuidString: agent.organizationID)!)").first!.decode("slug", as: String.self)
            let page = try signedIn.get("/o/\(slug)?range=all")
            #expect(page.status == 200)
            let sums = try app.pool.query("SELECT sum(energy_kwh) AS e, sum(emissions_kg) AS c FROM emission_samples").first!
            let energy = Formatting.energy(kilowattHours: try sums.decode("e", as: Double.self))
            let mass = Formatting.mass(kilograms: try sums.decode("c", as: Double.self))
            #expect(page.text.contains("id=\"total-energy\"><div class=\"value\">\(energy.value) <small>\(energy.unit)</small>"))
            #expect(page.text.contains("id=\"total-emissions\"><div class=\"value\">\(mass.value) <small>\(mass.unit) CO2e</small>"))
            #expect(page.text.contains("id=\"total-runs\"><div class=\"value\">3 "))
            // Equivalents from the seeded factors: 0.6 kg / 0.393 kg per mile.
            #expect(page.text.contains("<strong>\(Formatting.significant(0.6 / 0.393))</strong> Miles driven"))
            #expect(page.text.contains("<svg viewBox"))
            #expect(!page.text.contains("<script>"))

            // Down the tree: team, project (with where-else advice), experiment, run.
            let team = try #require(page.text.range(of: "href=\"/o/\(slug)/").map { String(page.text[$0.upperBound...].prefix { $0 != "?" && $0 != "\"" }) })
            let teamPage = try signedIn.get("/o/\(slug)/\(team)?range=all")
            #expect(teamPage.status == 200)
            // Children sort by any column, both ways.
            let teamID = try app.pool.query("SELECT team_id FROM projects WHERE id = \(UUID(uuidString: agent.projectID)!)").first!.decode("team_id", as: UUID.self)
            _ = try app.api("POST", "/api/v1/teams/\(teamID.lowercaseText)/projects", token: agent.personalToken, json: ["name": "Aardvark"])
            let byName = try signedIn.get("/o/\(slug)/\(team)?range=all&sort=name&dir=asc").text
            let byEmissions = try signedIn.get("/o/\(slug)/\(team)?range=all&sort=emissions&dir=desc").text
            // Positions in the table of children (after its sortable header), not in the chart above it.
            func position(_ text: String, _ word: String) -> Int {
                guard let table = text.range(of: "aria-sort") else { return -1 }
                return text[table.upperBound...].range(of: word).map { text.distance(from: text.startIndex, to: $0.lowerBound) } ?? -1
            }
            #expect(position(byName, ">Aardvark<") < position(byName, ">Vision &quot;quoted&quot;<"))
            #expect(position(byEmissions, ">Aardvark<") > position(byEmissions, ">Vision &quot;quoted&quot;<"))
            #expect(byName.contains("aria-sort=\"ascending\""))
            let projectSlug = try app.pool.query("SELECT slug FROM projects WHERE id = \(UUID(uuidString: agent.projectID)!)").first!.decode("slug", as: String.self)
            let projectPage = try signedIn.get("/o/\(slug)/\(team)/\(projectSlug)?range=all")
            #expect(projectPage.status == 200)
            #expect(projectPage.text.contains("Where could this have run?"))
            #expect(projectPage.text.contains("Vision &quot;quoted&quot;"))
            let experimentPage = try signedIn.get("/o/\(slug)/\(team)/\(projectSlug)/experiments/\(agent.experimentID)?range=7d")
            #expect(experimentPage.status == 200)
            #expect(experimentPage.text.contains("&lt;script&gt;cpu&lt;/script&gt;"))
            // Each chart is drawn for a wide and a narrow screen: three runs, three dots in each drawing.
            let wideScatter = try #require(experimentPage.text.components(separatedBy: "aria-labelledby=\"scatter-title-narrow\"").first?
                .components(separatedBy: "aria-labelledby=\"scatter-title-wide\"").last)
            #expect(wideScatter.components(separatedBy: "class=\"dot\"").count - 1 == 3)
            #expect(experimentPage.text.components(separatedBy: "class=\"dot\"").count - 1 == 6)
            // The runs table sorts by its columns (it was always newest first).
            let experimentPath = "/o/\(slug)/\(team)/\(projectSlug)/experiments/\(agent.experimentID)?range=7d"
            for (direction, first, last) in [("asc", runs[0], runs[2]), ("desc", runs[2], runs[0])] {
                let sorted = try signedIn.get(experimentPath + "&sort=emissions&dir=\(direction)").text
                let a = try #require(sorted.range(of: "href=\"/run/\(first)\">")), b = try #require(sorted.range(of: "href=\"/run/\(last)\">"))
                #expect(a.lowerBound < b.lowerBound, "\(direction)")
                #expect(sorted.contains("aria-sort=\"\(direction == "asc" ? "ascending" : "descending")\""))
            }
            let runPage = try signedIn.get("/run/\(runs[0])")
            #expect(runPage.status == 200)
            #expect(runPage.text.contains(runs[0]))
            #expect(!runPage.text.contains("Energy by component"))  // these reports gave no CPU/GPU/RAM split
            let found = try signedIn.get("/find-run?id=\(runs[1].uppercased())")
            #expect(found.header("Location") == "/run/\(runs[1])")
            // The 8 characters titles show are enough (before, anything but a whole id was a 404).
            let byPrefix = try signedIn.get("/find-run?id=\(runs[1].prefix(8))")
            #expect(byPrefix.status == 302 && byPrefix.header("Location") == "/run/\(runs[1])")
            #expect(try signedIn.get("/find-run?id=\(String(runs[1].prefix(8).reversed()))zz").status == 404)
            // A project's tokens, sharing and import come after its experiments.
            let order = projectPage.text
            let experiments = try #require(order.range(of: "<h2>Experiments</h2>")), tokens = try #require(order.range(of: "Send data to this project"))
            #expect(experiments.lowerBound < tokens.lowerBound)

            // A custom range with nothing in it.
            let empty = try signedIn.get("/o/\(slug)?from=2001-01-01&to=2001-01-31")
            #expect(empty.status == 200 && empty.text.contains("No data in this range."))
            #expect(!empty.text.contains("2001-02-01"))
            #expect(try signedIn.get("/o/\(slug)?from=yesterday").status == 422)
        }
    }

    @Test func strangersAndAnonymousVisitorsSeeNothing() throws {
        try withApp { app in
            let (_, agent, runs) = try setUp(app)
            let slug = try app.pool.query("SELECT slug FROM organizations WHERE id = \(UUID(uuidString: agent.organizationID)!)").first!.decode("slug", as: String.self)
            var anonymous = Browser(app: app)
            let redirect = try anonymous.get("/o/\(slug)")
            #expect(redirect.status == 303)
            #expect(redirect.header("Location")?.hasPrefix("/login?next=") == true)
            _ = try Agent(app, organization: "Other", project: "Theirs")
            try app.pool.query("UPDATE users SET password_hash = \(PasswordHasher.hash("a long password 123", iterations: 1000)), must_change_password = false")
            var stranger = Browser(app: app)
            _ = try stranger.logIn(email: "agent@other.test", password: "a long password 123")
            #expect(try stranger.get("/").status == 200)
            let page = try stranger.get("/o/\(slug)")
            #expect(page.status == 404)
            #expect(page.header("Content-Type") == "text/html; charset=utf-8")
            #expect(!page.text.contains("Acme"))
            #expect(try stranger.get("/run/\(runs[0])").status == 404)
        }
    }

    @Test func chartsCarryTheDatabaseFiguresAndRenamesKeepLinks() throws {
        try withApp { app in
            let (browser, agent, _) = try setUp(app)
            var signedIn = browser
            // A second team with its own project and run, so the organization's trend stacks two teams.
            let orgID = UUID(uuidString: agent.organizationID)!
            let team = try app.api("POST", "/api/v1/organizations/\(agent.organizationID)/teams", token: agent.personalToken, json: ["name": "Speech <i>"])
            let project = try app.api("POST", "/api/v1/teams/\(team.body["id"]!.stringValue!)/projects", token: agent.personalToken, json: ["name": "ASR"])
            let experiment = try app.api("POST", "/api/v1/projects/\(project.body["id"]!.stringValue!)/experiments", token: agent.personalToken,
                                         json: ["name": "base"])
            let start = Date().addingTimeInterval(-2 * 86_400)
            let other = try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: [
                "experiment_id": experiment.body["id"]!, "started_at": .string(ISOTime.format(start)),
                "ended_at": .string(ISOTime.format(start.addingTimeInterval(60))), "totals": ["energy_kwh": 2, "emissions_kg": 0.7],
            ])
            try #require(other.status == 201)
            let slug = try app.pool.query("SELECT slug FROM organizations WHERE id = \(orgID)").first!.decode("slug", as: String.self)
            let page = try signedIn.get("/o/\(slug)?range=7d").text
            #expect(page.contains("Emissions per day, by team"))
            // Every cell of the chart's data table is the rollup's sum for that day and team.
            let cells = try app.pool.query("""
                SELECT d.day::text AS day, t.name, sum(d.emissions_kg) AS emissions FROM experiment_days d JOIN teams t ON t.id = d.team_id
                WHERE d.organization_id = \(orgID) GROUP BY 1, 2 ORDER BY 1
                """).rows
            #expect(cells.count >= 3)
            let table = try #require(page.components(separatedBy: "<th scope=\"col\">Day (UTC)</th>").dropFirst().first)
            // The chart and its table are in the unit of the page's total emissions.
            let factor = page.contains("Data table (g CO2e)") ? 1000.0 : page.contains("Data table (t CO2e)") ? 0.001 : 1
            for cell in cells {
                let day: String = try cell.decode("day")
                let row = try #require(table.components(separatedBy: "<tr><td>\(day)</td>").dropFirst().first?.components(separatedBy: "</tr>").first)
                #expect(row.contains("<td class=\"num\">\(Formatting.significant(try cell.decode("emissions", as: Double.self) * factor))</td>"), "\(day)")
            }
            #expect(page.contains("<th scope=\"col\" class=\"num\">Speech &lt;i&gt;</th>") && !page.contains("Speech <i>"))
            // The breakdown by team links down and lists both teams, largest first.
            let breakdown = try #require(page.components(separatedBy: "breakdown-title").last?.components(separatedBy: "</figure>").first)
            let ml = try #require(breakdown.range(of: ">ML<")), speech = try #require(breakdown.range(of: ">Speech &lt;i&gt;<"))
            #expect(speech.lowerBound < ml.lowerBound)  // Speech 0.7 kg, ML 0.1 + 0.2 + 0.3 = 0.6 kg

            // A run with CodeCarbon samples: its power and emissions-rate series come from the samples.
            let runID = try app.api("POST", "/runs", token: nil, json: runCreate(agent.experimentID), headers: agent.header).body["id"]!.stringValue!
            for index in 0..<3 {
                let posted = try app.api("POST", "/emissions", token: nil, json: emission(runID, energy: 0.001 * Double(index + 1), emissions: 0.0002 * Double(index + 1),
                                                                                         duration: 10, timestamp: Date().addingTimeInterval(Double(index - 3) * 10)),
                                         headers: agent.header)
                #expect(posted.status == 201)
            }
            let runPage = try signedIn.get("/run/\(runID)").text
            #expect(runPage.contains("Power over time") && runPage.contains("Emissions rate over time"))
            #expect(runPage.contains("<td class=\"num\">\(Formatting.significant(42.5))</td>"))  // CPU W of every sample
            #expect(runPage.contains("<td class=\"num\">\(Formatting.significant(0.0006 / 10 * 3_600_000))</td>"))  // third sample, g/h

            // Renames keep the slug (links keep working) and are escaped.
            let csrf = try #require(Browser.csrf(in: page))
            let teamSlug = try app.pool.query("SELECT slug FROM teams WHERE name = 'ML'").first!.decode("slug", as: String.self)
            let renamed = try signedIn.post("/o/\(slug)/\(teamSlug)/rename", form: [("csrf_token", csrf), ("name", "Machine <Learning>")])
            #expect(renamed.status == 303 && renamed.header("Location") == "/o/\(slug)/\(teamSlug)")
            #expect(try signedIn.get("/o/\(slug)/\(teamSlug)").text.contains("<h1>Machine &lt;Learning&gt;</h1>"))
            let projectSlug = try app.pool.query("SELECT slug FROM projects WHERE id = \(UUID(uuidString: agent.projectID)!)").first!.decode("slug", as: String.self)
            _ = try signedIn.post("/o/\(slug)/\(teamSlug)/\(projectSlug)/rename", form: [("csrf_token", csrf), ("name", "Vision 2")])
            _ = try signedIn.post("/o/\(slug)/\(teamSlug)/\(projectSlug)/experiments/\(agent.experimentID)/rename", form: [("csrf_token", csrf), ("name", "Tuned")])
            #expect(try app.pool.query("SELECT name FROM projects WHERE slug = \(projectSlug)").first!.decode("name", as: String.self) == "Vision 2")
            #expect(try app.pool.query("SELECT name FROM experiments WHERE id = \(UUID(uuidString: agent.experimentID)!)").first!.decode("name", as: String.self) == "Tuned")
            // Without the CSRF token, nothing changes.
            let forged = try signedIn.post("/o/\(slug)/\(teamSlug)/rename", form: [("name", "Hijacked")])
            #expect(forged.status == 403)
            #expect(try app.pool.query("SELECT count(*) AS n FROM teams WHERE name = 'Hijacked'").first!.decode("n", as: Int.self) == 0)
        }
    }
}

@Suite struct PublicProjectTests {
    @Test func aPublicLinkShowsOneProjectReadOnly() throws {
        try withApp { app in
            let agent = try Agent(app)
            _ = try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: [
                "experiment_id": .string(agent.experimentID), "started_at": .string(ISOTime.format(Date().addingTimeInterval(-600))),
                "totals": ["energy_kwh": 2, "emissions_kg": 0.5, "duration_seconds": 600],
            ])
            let shared = try app.api("PATCH", "/api/v1/projects/\(agent.projectID)", token: agent.personalToken, json: ["is_public": true])
            let path = try #require(shared.body["public_path"]?.stringValue)
            let page = try app.send("GET", path + "?range=all")
            #expect(page.status == 200)
            #expect(page.text.contains("Vision"))
            #expect(page.text.contains("id=\"total-emissions\"><div class=\"value\">500 <small>g CO2e</small>"))
            #expect(!page.text.contains("/o/"))
            #expect(try app.send("GET", "/p/not-a-real-public-link-at-all").status == 404)
            _ = try app.api("PATCH", "/api/v1/projects/\(agent.projectID)", token: agent.personalToken, json: ["is_public": false])
            let gone = try app.send("GET", path)
            #expect(gone.status == 404)
            #expect(gone.text.contains("<h1>404"))
        }
    }
}

@Suite struct ProjectSettingsTests {
    @Test func tokensAndSharingFromTheProjectPage() throws {
        try withApp { app in
            let agent = try Agent(app)
            try app.pool.query("UPDATE users SET password_hash = \(PasswordHasher.hash("a long password 123", iterations: 1000)), must_change_password = false")
            var browser = Browser(app: app)
            #expect(try browser.logIn(email: Agent.email("Acme"), password: "a long password 123").status == 303)
            let path = "/o/acme/ml/vision"
            let page = try browser.get(path)
            #expect(page.status == 200)
            #expect(page.text.contains("Send data to this project"))
            let csrf = try #require(Browser.csrf(in: page.text))

            // Without the CSRF token nothing is created.
            #expect(try browser.post(path + "/tokens", form: [("name", "forged")]).status == 403)
            let created = try browser.post(path + "/tokens", form: [("csrf_token", csrf), ("name", "cluster <b>"), ("scope", "write")])
            #expect(created.status == 201)
            let token = try #require(created.text.range(of: "id=\"token\">").map { String(created.text[$0.upperBound...].prefix { $0 != "<" }) })
            #expect(token.hasPrefix("soot_prj_"))
            #expect(created.text.contains("api_key = \(token)"))
            #expect(created.text.contains("experiment_id = \(agent.experimentID)"))
            #expect(created.text.contains("CODECARBON_API_KEY=\(token)"))
            #expect(try app.api("POST", "/runs", token: nil, json: runCreate(agent.experimentID), headers: [("x-api-token", token)]).status == 201)
            let listed = try browser.get(path)
            #expect(listed.text.contains("cluster &lt;b&gt;"))
            #expect(!listed.text.contains(token))

            // Revoking from the page stops the token at once.
            let tokenID = try app.pool.query("SELECT id FROM api_tokens WHERE name = 'cluster <b>'").first!.decode("id", as: UUID.self)
            #expect(try browser.post(path + "/tokens/\(tokenID.lowercaseText)/revoke", form: [("csrf_token", csrf)]).status == 303)
            #expect(try app.api("POST", "/runs", token: nil, json: runCreate(agent.experimentID), headers: [("x-api-token", token)]).status == 401)

            // Sharing on and off.
            #expect(try browser.post(path + "/public", form: [("csrf_token", csrf), ("public", "on")]).status == 303)
            let shared = try browser.get(path).text
            // Shown whole, with the address the browser used.
            let link = try #require(shared.range(of: "href=\"http://soot.test/p/").map { "/p/" + String(shared[$0.upperBound...].prefix { $0 != "\"" }) })
            #expect(try app.send("GET", link).status == 200)
            #expect(try browser.post(path + "/public", form: [("csrf_token", csrf), ("public", "off")]).status == 303)
            #expect(try app.send("GET", link).status == 404)
        }
    }
}

@Suite struct ManagementPagesTests {
    @Test func adminsManageFromThePages() throws {
        try withApp { app in
            _ = try Agent(app)
            try app.pool.query("UPDATE users SET password_hash = \(PasswordHasher.hash("a long password 123", iterations: 1000)), must_change_password = false")
            var browser = Browser(app: app)
            #expect(try browser.logIn(email: Agent.email("Acme"), password: "a long password 123").status == 303)
            let organization = try browser.get("/o/acme")
            let csrf = try #require(Browser.csrf(in: organization.text))
            #expect(organization.text.contains("Invite someone by email"))

            let team = try browser.post("/o/acme/teams", form: [("csrf_token", csrf), ("name", "Teams")])
            #expect(team.header("Location") == "/o/acme/teams")
            #expect(try browser.get("/o/acme/teams").status == 200)
            let project = try browser.post("/o/acme/teams/projects", form: [("csrf_token", csrf), ("name", "Detector")])
            #expect(project.header("Location") == "/o/acme/teams/detector")
            let experiment = try browser.post("/o/acme/teams/detector/experiments", form: [("csrf_token", csrf), ("name", "baseline")])
            #expect(experiment.header("Location")?.hasPrefix("/o/acme/teams/detector/experiments/") == true)

            // Adding someone invites them; they join by choosing their own password on the link's page.
            func join(_ email: String, password: String) throws -> Browser {
                let added = try browser.post("/o/acme/members", form: [("csrf_token", csrf), ("email", email), ("role", "member")])
                #expect(added.status == 201)
                #expect(added.text.contains("is invited") && !added.text.contains("password:"))
                let link = try #require(added.text.components(separatedBy: "<pre class=\"card secret\">").dropFirst().first?
                    .components(separatedBy: "</pre>").first)
                let path = String(link[try #require(link.range(of: "/invitations/")).lowerBound...])
                var newcomer = Browser(app: app)
                let page = try newcomer.get(path)
                #expect(page.status == 200 && page.text.contains("Create my account and join"))
                let token = try #require(Browser.csrf(in: page.text))
                let joined = try newcomer.post(path + "/account", form: [("csrf_token", token), ("password", password), ("password_again", password)])
                #expect(joined.status == 303 && joined.header("Location") == "/o/acme")
                // The link works once.
                var stranger = Browser(app: app)
                #expect(try stranger.get(path).status == 404)
                return newcomer
            }
            _ = try join("new@acme.test", password: "new person's password")
            let newID = try app.pool.query("SELECT id FROM users WHERE email = 'new@acme.test'").first!.decode("id", as: UUID.self)
            #expect(try browser.post("/o/acme/members/\(newID.lowercaseText)/role", form: [("csrf_token", csrf), ("role", "admin")]).status == 303)
            #expect(try app.pool.query("SELECT role FROM organization_members WHERE user_id = \(newID)").first!.decode("role", as: String.self) == "admin")

            // A plain member sees a team only once they are in it: added and removed on the team page.
            _ = try join("plain@acme.test", password: "plain member password")
            let plainID = try app.pool.query("SELECT id FROM users WHERE email = 'plain@acme.test'").first!.decode("id", as: UUID.self)
            var member = Browser(app: app)
            #expect(try member.logIn(email: "plain@acme.test", password: "plain member password").status == 303)
            #expect(try member.get("/o/acme/teams").status == 404)
            #expect(try browser.get("/o/acme/teams").text.contains("Add a member of the organization by email"))
            #expect(try browser.post("/o/acme/teams/members", form: [("csrf_token", csrf), ("email", "plain@acme.test")]).status == 303)
            #expect(try member.get("/o/acme/teams").status == 200)
            #expect(try browser.get("/o/acme/teams").text.contains("plain@acme.test"))
            // A refused form comes back as its page, the message under the field and what was typed kept (it was a
            // separate 422 page whose reload was a 404), once: a reload shows the page as it is.
            let refused = try browser.post("/o/acme/teams/members", form: [("csrf_token", csrf), ("email", "stranger@else.test")])
            #expect(refused.status == 303 && refused.header("Location") == "/o/acme/teams#team-member-email")
            let again = try browser.get("/o/acme/teams")
            #expect(again.status == 200)
            #expect(again.text.contains("value=\"stranger@else.test\" aria-invalid=\"true\" aria-describedby=\"team-member-email-error\""))
            #expect(again.text.contains("<p class=\"field-error\" id=\"team-member-email-error\">"))
            #expect(!(try browser.get("/o/acme/teams").text.contains("field-error")))
            // A name taken in another case is refused by the form, in the user's words.
            #expect(try browser.post("/o/acme/teams/projects", form: [("csrf_token", csrf), ("name", "DETECTOR")]).status == 303)
            #expect(try browser.get("/o/acme/teams").text.contains("There is already one named “DETECTOR” here"))
            // Success says so.
            #expect(try browser.post("/o/acme/teams/rename", form: [("csrf_token", csrf), ("name", "Teams")]).status == 303)
            #expect(try browser.get("/o/acme/teams").text.contains("<p class=\"notice\" role=\"status\">Renamed to Teams.</p>"))
            #expect(try browser.post("/o/acme/teams/members/\(plainID.lowercaseText)/remove", form: [("csrf_token", csrf)]).status == 303)
            #expect(try member.get("/o/acme/teams").status == 404)

            // Deleting needs the confirmation page's exact name.
            let confirm = try browser.get("/o/acme/teams/detector/delete")
            #expect(confirm.text.contains("Type the project"))
            #expect(try browser.post("/o/acme/teams/detector/delete", form: [("csrf_token", csrf), ("confirm", "detector")]).status == 303)
            #expect(try browser.get("/o/acme/teams/detector/delete").text.contains("type “Detector” exactly"))
            #expect(try browser.post("/o/acme/teams/detector/delete", form: [("csrf_token", csrf), ("confirm", "Detector")]).status == 303)
            #expect(try app.pool.query("SELECT count(*) AS n FROM projects WHERE name = 'Detector'").first!.decode("n", as: Int.self) == 0)
            // Forms without the CSRF token change nothing.
            #expect(try browser.post("/o/acme/teams", form: [("name", "Forged")]).status == 403)
        }
    }
}
