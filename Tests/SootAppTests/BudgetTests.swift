import Emissions
import Foundation
import Postgres
@testable import SootStore
@testable import SootWeb
import TestSupport
import Testing

/// The forecast on fixtures whose answers are known by hand.
@Suite struct BudgetForecastTests {
    func day(_ y: Int, _ m: Int, _ d: Int) -> Int { BudgetPeriod.days(year: y, month: m, day: d) }

    @Test func periodsAndWeekdays() {
        let q = BudgetPeriod(.quarter, containing: day(2026, 11, 15))
        #expect(BudgetPeriod.text(q.start) == "2026-10-01" && BudgetPeriod.text(q.end) == "2027-01-01" && q.length == 92)
        let y = BudgetPeriod(.year, containing: day(2028, 2, 29))
        #expect(BudgetPeriod.text(y.start) == "2028-01-01" && y.length == 366)
        let m = BudgetPeriod(.month, containing: day(2026, 2, 28))
        #expect(BudgetPeriod.text(m.start) == "2026-02-01" && m.length == 28)
        #expect(!BudgetPeriod.isWeekend(day(2026, 12, 7)) && BudgetPeriod.isWeekend(day(2026, 12, 5)) && BudgetPeriod.isWeekend(day(2026, 12, 6)))
    }

    @Test func aSteadyPaceEndsWhereTheArithmeticSays() {
        let april = BudgetPeriod(.month, containing: day(2026, 4, 1))
        let daily = Dictionary(uniqueKeysWithValues: (0..<10).map { (april.start + $0, 2.0) })
        let f = BudgetForecast(period: april, daily: daily, today: day(2026, 4, 11), elapsed: 0, limit: 50)
        #expect(f.used == 20 && f.forecast == 60 && f.low == 60 && f.high == 60)
        #expect(!f.splitWeekends && f.weekdayPace == 2)
        #expect(f.limitReachedOn == day(2026, 4, 25))  // 20 + 15 days × 2
        #expect(f.state(limit: 50) == "at_risk" && f.state(limit: 60) == "on_track")
    }

    @Test func weekdaysAndWeekendsApartWhenTheyDiffer() {
        // February 2026: the 1st a Sunday. 3 kg each weekday, nothing at weekends; today Monday the 16th.
        let february = BudgetPeriod(.month, containing: day(2026, 2, 1))
        var daily: [Int: Double] = [:]
        for d in february.start..<day(2026, 2, 16) where !BudgetPeriod.isWeekend(d) { daily[d] = 3 }
        let f = BudgetForecast(period: february, daily: daily, today: day(2026, 2, 16), elapsed: 0, limit: 100)
        #expect(f.splitWeekends && f.weekdayPace == 3 && f.weekendPace == 0)
        #expect(f.used == 30 && f.forecast == 60)  // ten weekdays left, the 16th to the 27th
        #expect(f.low == 60 && f.high == 60 && f.limitReachedOn == nil && f.state(limit: 100) == "on_track")
    }

    @Test func thePeriodsFirstDayScalesTodaySoFar() {
        let march = BudgetPeriod(.month, containing: day(2026, 3, 1))
        let f = BudgetForecast(period: march, daily: [march.start: 1], today: march.start, elapsed: 0.25, limit: 1000)
        #expect(f.used == 1 && f.weekdayPace == 4 && f.forecast == 1 + 4 * 0.75 + 4 * 30)
    }

    @Test func aSpentBudgetSaysTheDayItWasSpent() {
        let may = BudgetPeriod(.month, containing: day(2026, 5, 1))
        let daily = Dictionary(uniqueKeysWithValues: (0..<5).map { (may.start + $0, 10.0) })
        let f = BudgetForecast(period: may, daily: daily, today: may.start + 5, elapsed: 0.5, limit: 35)
        #expect(f.used == 50 && f.limitReachedOn == may.start + 3 && f.state(limit: 35) == "over")
    }

    @Test func anUnevenPaceHasARangeAroundItsForecast() {
        // 1 and 3 kg on alternate days over June's first 20 days: a pace of 2, uneven, with no weekly pattern.
        let june = BudgetPeriod(.month, containing: day(2026, 6, 1))
        let daily = Dictionary(uniqueKeysWithValues: (0..<20).map { (june.start + $0, $0 % 2 == 0 ? 1.0 : 3.0) })
        let f = BudgetForecast(period: june, daily: daily, today: june.start + 20, elapsed: 0, limit: 1000)
        #expect(!f.splitWeekends)
        #expect(abs(f.forecast - (40 + 2 * 10)) < 1e-9)  // the last 14 days average 2; ten days left
        // Spread of the window s² = 14/13 (deviations of ±1); variance over 10 days plus the pace's: 10 s² + 100 s² / 14.
        let s2 = 14.0 / 13
        let deviation = (10 * s2 + 100 * s2 / 14).squareRoot()
        #expect(abs(f.high - f.forecast - 1.6449 * deviation) < 1e-9 && abs(f.forecast - f.low - 1.6449 * deviation) < 1e-9)
        #expect(f.low >= f.used)
    }
}

/// `/api/v1/budgets` against the real server and PostgreSQL.
@Suite struct BudgetAPITests {
    @Test func aProjectBudgetReadsItsPeriodAndIsKeptToItsOrganization() throws {
        try withApp { app in
            let agent = try Agent(app)
            // 0.6 kg today, in the project.
            let run = try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: [
                "experiment_id": .string(agent.experimentID), "started_at": .string(ISOTime.format(Date().addingTimeInterval(-60))),
                "totals": ["energy_kwh": 3, "emissions_kg": 0.6, "duration_seconds": 60],
            ])
            try #require(run.status == 201, "\(run.body)")
            let created = try app.api("POST", "/api/v1/budgets", token: agent.personalToken, json: [
                "project_id": .string(agent.projectID), "period": "month", "limit_kg": 1, "limit_kwh": 10, "thresholds": [100, 50, 80, 80],
            ])
            try #require(created.status == 201, "\(created.body)")
            let budget = created.body
            let id = try #require(budget["id"]?.stringValue)
            #expect(budget["scope"]?["level"]?.stringValue == "project" && budget["scope"]?["name"]?.stringValue == "Vision")
            #expect(budget["used_kg"]?.numberValue.map { abs($0 - 0.6) < 1e-12 } == true)
            #expect(budget["used_kwh"]?.numberValue == 3)
            #expect(budget["thresholds"]?.arrayValue.compactMap(\.numberValue) == [50, 80, 100])
            let today = BudgetPeriod.text(Int((Date().timeIntervalSince1970 / 86_400).rounded(.down)))
            #expect(budget["period_start"]?.stringValue == String(today.prefix(8)) + "01")
            let forecast = try #require(budget["forecast_kg"]?.numberValue)
            let range = budget["forecast_range_kg"]?.arrayValue.compactMap(\.numberValue) ?? []
            #expect(forecast >= 0.6 && range.count == 2 && range[0] <= forecast && forecast <= range[1])
            #expect(["on_track", "at_risk"].contains(budget["state"]?.stringValue ?? ""))

            // One per scope and period kind; bad input names its field.
            let again = try app.api("POST", "/api/v1/budgets", token: agent.personalToken,
                                    json: ["project_id": .string(agent.projectID), "period": "month", "limit_kg": 2])
            #expect(again.status == 409 && again.body["error"]?["field"]?.stringValue == "period")
            for (body, field) in [
                (["project_id": .string(agent.projectID), "team_id": .string(agent.projectID), "period": "year", "limit_kg": 1], "team_id"),
                (["project_id": .string(agent.projectID), "period": "week", "limit_kg": 1], "period"),
                (["project_id": .string(agent.projectID), "period": "year", "limit_kg": 0], "limit_kg"),
                (["project_id": .string(agent.projectID), "period": "year", "limit_kg": .number(Double.leastNonzeroMagnitude)], "limit_kg"),  // found by schemathesis (5e-324): its shares were infinite
                (["project_id": .string(agent.projectID), "period": "year", "limit_kg": 1e13], "limit_kg"),
                (["project_id": .string(agent.projectID), "period": "year", "limit_kg": 1, "thresholds": [0]], "thresholds[0]"),
                (["project_id": .string(agent.projectID), "period": "year", "limit_kg": 1, "thresholds": []], "thresholds"),
            ] as [(JSONValue, String)] {
                let refused = try app.api("POST", "/api/v1/budgets", token: agent.personalToken, json: body)
                #expect(refused.status == 422 && refused.body["error"]?["field"]?.stringValue == field, "\(body): \(refused.body)")
            }
            #expect(try app.pool.query("SELECT count(*) AS n FROM budgets").first!.decode("n", as: Int.self) == 1)

            // Lowered below what is used: over, reached today; energy's limit removed.
            let lowered = try app.api("PATCH", "/api/v1/budgets/\(id)", token: agent.personalToken, json: ["limit_kg": 0.5, "limit_kwh": .null])
            #expect(lowered.status == 200 && lowered.body["state"]?.stringValue == "over")
            #expect(lowered.body["limit_reached_on"]?.stringValue == today && lowered.body["limit_kwh"] == .null)

            // The organization's list has it; another organization sees nothing of it.
            let list = try app.api("GET", "/api/v1/budgets?organization=\(agent.organizationID)", token: agent.personalToken)
            #expect(list.status == 200 && list.body["data"]?.arrayValue.compactMap { $0["id"]?.stringValue } == [id])
            let other = try Agent(app, organization: "Other")
            #expect(try app.api("GET", "/api/v1/budgets/\(id)", token: other.personalToken).status == 404)
            #expect(try app.api("PATCH", "/api/v1/budgets/\(id)", token: other.personalToken, json: ["limit_kg": 5]).status == 404)
            #expect(try app.api("DELETE", "/api/v1/budgets/\(id)", token: other.personalToken).status == 404)
            #expect(try app.api("GET", "/api/v1/budgets?organization=\(agent.organizationID)", token: other.personalToken).body["data"]?.arrayValue.isEmpty == true)
            #expect(try app.api("POST", "/api/v1/budgets", token: other.personalToken,
                                json: ["organization_id": .string(agent.organizationID), "period": "year", "limit_kg": 1]).status == 404)

            // Every change is in the audit trail once.
            #expect(try app.api("DELETE", "/api/v1/budgets/\(id)", token: agent.personalToken).status == 204)
            let actions = try app.pool.query("""
                SELECT action FROM audit_events WHERE action LIKE 'budget.%' ORDER BY at, id
                """).rows.map { try $0.decode("action", as: String.self) }
            #expect(actions == ["budget.create", "budget.update", "budget.delete"])
            #expect(try app.api("GET", "/api/v1/budgets/\(id)", token: agent.personalToken).status == 404)
            // In the API's description.
            #expect(String(decoding: try app.send("GET", "/api/v1/openapi.json").body, as: UTF8.self).contains("\"/api/v1/budgets/{budget_id}\""))
        }
    }
}

/// Budgets on the pages: the team's own as a card with its meter and forecast, its projects' in a table that sorts,
/// the daily allowance on the chart; nothing on another organization's member's view or on a public page.
@Suite struct BudgetPageTests {
    @Test func aTeamPageShowsItsBudgetAndItsProjectsBudgets() throws {
        try withApp { app in
            let agent = try Agent(app)
            let second = try app.api("POST", "/api/v1/teams/\(try app.pool.query("SELECT team_id FROM projects").first!.decode("team_id", as: UUID.self).idText)/projects",
                                     token: agent.personalToken, json: ["name": "Speech <b>"])
            try #require(second.status == 201, "\(second.body)")
            let speech = try #require(second.body["id"]?.stringValue)
            _ = try app.api("POST", "/api/v1/runs", token: agent.personalToken, json: [
                "experiment_id": .string(agent.experimentID), "started_at": .string(ISOTime.format(Date().addingTimeInterval(-60))),
                "totals": ["energy_kwh": 3, "emissions_kg": 0.6, "duration_seconds": 60],
            ])
            let teamID = try app.pool.query("SELECT id FROM teams").first!.decode("id", as: UUID.self)
            for body: JSONValue in [["team_id": .string(teamID.idText), "period": "month", "limit_kg": 2],
                                    ["project_id": .string(agent.projectID), "period": "month", "limit_kg": 0.5],
                                    ["project_id": .string(speech), "period": "quarter", "limit_kg": 10]] {
                #expect(try app.api("POST", "/api/v1/budgets", token: agent.personalToken, json: body).status == 201)
            }
            var browser = try Browser.signedIn(app)
            let page = try browser.get("/o/acme/ml")
            #expect(page.status == 200)
            let text = page.text
            #expect(text.contains("id=\"budget-month\"") && text.contains("Monthly budget"))
            #expect(text.contains("<strong>600 g</strong> of 2.00 kg CO2e (30.0 %)"))
            #expect(text.contains("<meter min=\"0\" max=\"100\""))
            #expect(text.contains("class=\"allowance\""))
            // The projects' budgets, worst first by default: Vision is over (0.6 of 0.5 kg), Speech on track.
            let table = try #require(text.components(separatedBy: "id=\"child-budgets\"").dropFirst().first)
            let vision = try #require(table.range(of: "Vision")), speechRow = try #require(table.range(of: "Speech &lt;b&gt;"))
            #expect(vision.lowerBound < speechRow.lowerBound)
            #expect(table.contains("<span class=\"badge over\">Over</span>") && table.contains("<span class=\"badge on_track\">On track</span>"))
            // Sorted by name instead: Speech before Vision.
            let byName = try browser.get("/o/acme/ml?range=30d&budgets=name").text
            let sorted = try #require(byName.components(separatedBy: "id=\"child-budgets\"").dropFirst().first)
            #expect(try #require(sorted.range(of: "Speech")).lowerBound < (try #require(sorted.range(of: "Vision"))).lowerBound)
            // The project's page has its own card, over.
            let project = try browser.get("/o/acme/ml/vision").text
            #expect(project.contains("<span class=\"badge over\">Over</span>") && project.contains("the limit was reached on"))
            // The summary export by project carries each project's budgets, as of now.
            let summary = try app.send("GET", "/api/v1/reports/summary.csv?team=\(teamID.idText)&by=project&range=all",
                                       headers: [("Authorization", "Bearer \(agent.personalToken)")])
            #expect(summary.status == 200)
            let records = try CSVReader.records(summary.body)
            let header = try #require(records.first).fields
            let rows = Dictionary(uniqueKeysWithValues: records.dropFirst().map { record in
                (record.fields[header.firstIndex(of: "project")!], Dictionary(uniqueKeysWithValues: zip(header, record.fields)))
            })
            #expect(rows["Vision"]?["budget_month_limit_kg"] == "0.5" && rows["Vision"]?["budget_month_used_kg"] == "0.6")
            #expect(rows["Vision"]?["budget_month_state"] == "over" && rows["Vision"]?["budget_quarter_limit_kg"] == "")
            #expect(rows["Speech <b>"]?["budget_quarter_limit_kg"] == "10" && rows["Speech <b>"]?["budget_quarter_state"] == "on_track")
            let json = try app.send("GET", "/api/v1/reports/summary.json?team=\(teamID.idText)&by=project&range=all",
                                    headers: [("Authorization", "Bearer \(agent.personalToken)")])
            #expect(json.status == 200 && json.text.contains("\"budget_month_state\":\"over\""))
            // A public link shows no budget.
            let shared = try app.api("PATCH", "/api/v1/projects/\(agent.projectID)", token: agent.personalToken, json: ["is_public": true])
            let publicPage = try app.send("GET", try #require(shared.body["public_path"]?.stringValue))
            #expect(publicPage.status == 200 && !publicPage.text.contains("budget"))
        }
    }
}

/// Setting budgets from the pages: a team's admin sets, changes and removes its monthly budget; a bad limit comes
/// back to its field; a member outside the team's admins sees no form.
@Suite struct BudgetFormTests {
    @Test func anAdminSetsChangesAndRemovesATeamBudgetFromItsPage() throws {
        try withApp { app in
            _ = try Agent(app)
            var browser = try Browser.signedIn(app)
            let page = try browser.get("/o/acme/ml")
            #expect(page.text.contains("No budget yet.") && page.text.contains("action=\"/o/acme/ml/-/budgets\""))
            let csrf = try #require(Browser.csrf(in: page.text))
            let bad = try browser.post("/o/acme/ml/-/budgets", form: [("csrf_token", csrf), ("period", "month"), ("limit_kg", "-3")])
            #expect(bad.status == 303)
            #expect(try browser.get("/o/acme/ml").text.contains("The limit is a number of kg CO2e (a microgram at least)"))
            #expect(try browser.post("/o/acme/ml/-/budgets", form: [("csrf_token", csrf), ("period", "month"), ("limit_kg", "2,5"),
                                                                 ("thresholds", "90 %, 50")]).status == 303)
            var budgets = try app.pool.query("SELECT period, limit_kg, array_to_string(thresholds, ',') AS t FROM budgets").rows
            #expect(budgets.count == 1)
            #expect(try budgets[0].decode("limit_kg", as: Double.self) == 2.5)
            #expect(try budgets[0].decode("t", as: String.self) == "50,90")
            // The same period again changes it rather than adding one.
            #expect(try browser.post("/o/acme/ml/-/budgets", form: [("csrf_token", csrf), ("period", "month"), ("limit_kg", "4")]).status == 303)
            budgets = try app.pool.query("SELECT limit_kg FROM budgets").rows
            #expect(budgets.count == 1)
            #expect(try budgets[0].decode("limit_kg", as: Double.self) == 4)
            let shown = try browser.get("/o/acme/ml").text
            #expect(shown.contains("Monthly budget set: 4.00 kg CO2e.") && shown.contains("of 4.00 kg CO2e"))
            let id = try app.pool.query("SELECT id FROM budgets").first!.decode("id", as: UUID.self)
            #expect(try browser.post("/o/acme/ml/-/budgets/\(id.idText)/delete", form: [("csrf_token", csrf)]).status == 303)
            #expect(try app.pool.query("SELECT count(*) AS n FROM budgets").first!.decode("n", as: Int.self) == 0)
            // A member who is not in the team and not an admin: no form, and the store refuses one sent anyway.
            let (memberID, _) = try makeUser(app.pool, email: "plain@acme.test")
            try app.pool.query("INSERT INTO organization_members (organization_id, user_id, role) SELECT id, \(memberID), 'member' FROM organizations")
            var member = try Browser.signedIn(app, email: "plain@acme.test")
            let organization = try member.get("/o/acme")
            #expect(organization.status == 200 && !organization.text.contains("/-/budgets\""))
            let memberCSRF = try #require(Browser.csrf(in: organization.text))
            #expect(try member.post("/o/acme/-/budgets", form: [("csrf_token", memberCSRF), ("period", "year"), ("limit_kg", "1")]).status == 403)
        }
    }
}
