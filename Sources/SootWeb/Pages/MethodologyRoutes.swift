import Emissions
import Foundation
import HTTPServer
import SootStore

/// `GET /methodology`: every constant and dataset Soot computes with, read from the database (where a
/// migration seeded them), with value, unit, source and year, and how totals and intensities are computed.
struct MethodologyRoutes {
    let store: Store

    func register(_ router: inout Router) {
        let store = self.store
        router.get("/methodology") { _ in
            let (equivalents, datasets) = try store.methodology()
            var equivalentRows: HTML = ""
            for row in equivalents {
                let year = row.year.map(String.init) ?? "not stated"
                equivalentRows += """
                    <tr><td>\(row.label)</td>
                    <td class="num">\("\(row.kgPerUnit)".replacingOccurrences(of: ".0 ", with: " ")) kg CO2e per \(MethodologyRoutes.singular(row.unit))</td>
                    <td>\(row.source)</td><td>\(year)</td>
                    <td>\(row.note ?? "")</td></tr>

                    """
            }
            var datasetRows: HTML = ""
            for row in datasets {
                let what = row.kind == "country" ? "Countries" : "\(row.provider.uppercased()) cloud regions"
                let first = row.firstYear
                let last = row.lastYear
                let years = first.map { first in last.map { $0 == first ? "\(first)" : "\(first)–\($0)" } ?? "\(first)" } ?? "2021–2023 vintage"
                datasetRows += """
                    <tr><td>\(what)</td><td class="num">\(row.count)</td>
                    <td class="num">\(Formatting.number(row.lowest)) – \(Formatting.number(row.highest)) g/kWh</td>
                    <td>\(row.source)</td><td>\(years)</td></tr>

                    """
            }
            let body: HTML = """
                <nav class="crumbs" aria-label="Breadcrumb"><a href="/">Home</a></nav>
                <h1>Methodology</h1>
                <p>How Soot turns what agents report into the totals, intensities and equivalents on its pages.</p>
                <h2 id="totals">Totals</h2>
                <p>Agents report samples: energy (kWh, with its CPU, GPU and RAM parts), emissions (kg CO2e) and duration over an
                interval. CodeCarbon computes emissions from the energy and the carbon intensity of the grid where the job ran.
                Every total Soot shows is the sum of the samples it stored: per run as they arrive, and per experiment and UTC day
                for date ranges. For a date range, energy, emissions and compute time count the samples taken on its days (UTC),
                so a run that started before the range and went on into it counts for its part inside; "runs started" counts the
                runs that started in the range. The runs export marks such a run <code>partial</code> and gives its part.
                Sums are shown to ten significant digits at most, so a total of decimal figures reads as a decimal.</p>
                <h2 id="intensity">Effective carbon intensity</h2>
                <p>The emissions of a total divided by its energy, in grams of CO2e per kWh.</p>
                <h2 id="equivalents">Equivalents</h2>
                <p>Emissions divided by the CO2e of one of each of these.</p>
                <div class=\"table-scroll\" tabindex=\"0\"><table><thead><tr><th>Equivalent</th><th>Factor</th><th>Source</th><th>Year</th><th>Note</th></tr></thead>
                <tbody>
                \(equivalentRows)</tbody></table></div>
                <h2 id="budgets">Budgets and their forecast</h2>
                <p>A budget's period is a calendar month, quarter or year in UTC; what it has used is the sum of its scope's daily
                totals from the period's first day to now. The forecast adds to that a pace for each remaining day (the rest of
                today counted for the part of it still to come). The pace is the average of the period's last 14 complete days,
                or of its complete days so far when there are fewer; on a period's first day, today's amount so far scaled to a
                whole day. Weekdays and weekends (UTC) get a pace each when the window has at least two of each and telling them
                apart at least halves the squared deviations from the pace. The range shown is a 90 % interval: the day-to-day
                spread of the window around its pace, over the remaining days, plus the uncertainty of the pace itself; it assumes
                days vary independently, so a change of habit (a new training job) moves the forecast faster than the range says.
                The date the limit is reached is the first day on which what is used, or used plus the forecast pace, passes it.
                A budget is <em>over</em> once used reaches the limit, <em>at risk</em> when the forecast passes it, and <em>on
                track</em> otherwise.</p>
                <h2 id="grids">Where could this have run?</h2>
                <p>The same energy multiplied by the intensity of other grids, compared with what was emitted. One yearly figure
                per grid: no hourly variation, and data years differ between countries.</p>
                <div class=\"table-scroll\" tabindex=\"0\"><table><thead><tr><th>Dataset</th><th>Entries</th><th>Range</th><th>Source</th><th>Years</th></tr></thead>
                <tbody>
                \(datasetRows)</tbody></table></div>
                <p class="muted">Country figures: Ember (2024); Energy Institute Statistical Review of World Energy (2024), processed by
                Our World in Data (CC BY 4.0), as compiled in CodeCarbon's global_energy_mix.json (MIT). Cloud figures: Google
                Cloud region carbon data (via CodeCarbon, MIT); AWS and Azure from Cloud Carbon Footprint coefficients
                (Apache-2.0), US regions with eGRID NERC-region factors.</p>
                """
            var response = Response.html(Layout.page(title: "Methodology", body: body))
            response.headers.set("Cache-Control", "public, max-age=300")
            return response
        }
    }

    static func singular(_ unit: String) -> String {
        switch unit {
        case "miles": return "mile"
        case "hours": return "hour"
        case "days": return "day"
        case "charges": return "charge"
        case "seedlings": return "seedling"
        case "flights": return "flight"
        default: return unit
        }
    }
}
