import Emissions
import Foundation
import HTTPServer
import Postgres

/// `GET /methodology`: every constant and dataset Soot computes with, read from the database (where a
/// migration seeded them), with value, unit, source and year, and how totals and intensities are computed.
struct MethodologyRoutes {
    let database: ConnectionPool

    func register(_ router: inout Router) {
        let database = self.database
        router.get("/methodology") { _ in
            let equivalents = try database.query("SELECT * FROM equivalents ORDER BY position").rows
            let datasets = try database.query("""
                SELECT kind, provider, source, count(*) AS n, min(year) AS first_year, max(year) AS last_year,
                       min(g_co2e_per_kwh) AS lowest, max(g_co2e_per_kwh) AS highest
                FROM grid_intensities GROUP BY kind, provider, source ORDER BY kind DESC, provider
                """).rows
            var equivalentRows: HTML = ""
            for row in equivalents {
                let year = try row.decode("year", as: Int?.self).map(String.init) ?? "not stated"
                equivalentRows += """
                    <tr><td>\(try row.decode("label", as: String.self))</td>
                    <td class="num">\("\(try row.decode("kg_co2e_per_unit", as: Double.self))".replacingOccurrences(of: ".0 ", with: " ")) kg CO2e per \(try MethodologyRoutes.singular(row.decode("unit", as: String.self)))</td>
                    <td>\(try row.decode("source", as: String.self))</td><td>\(year)</td>
                    <td>\(try row.decode("note", as: String?.self) ?? "")</td></tr>

                    """
            }
            var datasetRows: HTML = ""
            for row in datasets {
                let kind: String = try row.decode("kind")
                let provider: String = try row.decode("provider")
                let what = kind == "country" ? "Countries" : "\(provider.uppercased()) cloud regions"
                let first = try row.decode("first_year", as: Int?.self)
                let last = try row.decode("last_year", as: Int?.self)
                let years = first.map { first in last.map { $0 == first ? "\(first)" : "\(first)–\($0)" } ?? "\(first)" } ?? "2021–2023 vintage"
                datasetRows += """
                    <tr><td>\(what)</td><td class="num">\(try row.decode("n", as: Int.self))</td>
                    <td class="num">\(Formatting.number(try row.decode("lowest", as: Double.self))) – \(Formatting.number(try row.decode("highest", as: Double.self))) g/kWh</td>
                    <td>\(try row.decode("source", as: String.self))</td><td>\(years)</td></tr>

                    """
            }
            let body: HTML = """
                <h1>Methodology</h1>
                <p>How Soot turns what agents report into the totals, intensities and equivalents on its pages.</p>
                <h2 id="totals">Totals</h2>
                <p>Agents report samples: energy (kWh, with its CPU, GPU and RAM parts), emissions (kg CO2e) and duration over an
                interval. CodeCarbon computes emissions from the energy and the carbon intensity of the grid where the job ran.
                Every total Soot shows is the sum of the samples it stored: per run as they arrive, and per experiment and UTC day
                for date ranges. A run counts in a date range by its start.</p>
                <h2 id="intensity">Effective carbon intensity</h2>
                <p>The emissions of a total divided by its energy, in grams of CO2e per kWh.</p>
                <h2 id="equivalents">Equivalents</h2>
                <p>Emissions divided by the CO2e of one of each of these.</p>
                <table><thead><tr><th>Equivalent</th><th>Factor</th><th>Source</th><th>Year</th><th>Note</th></tr></thead>
                <tbody>
                \(equivalentRows)</tbody></table>
                <h2 id="grids">Where could this have run?</h2>
                <p>The same energy multiplied by the intensity of other grids, compared with what was emitted. One yearly figure
                per grid: no hourly variation, and data years differ between countries.</p>
                <table><thead><tr><th>Dataset</th><th>Entries</th><th>Range</th><th>Source</th><th>Years</th></tr></thead>
                <tbody>
                \(datasetRows)</tbody></table>
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
