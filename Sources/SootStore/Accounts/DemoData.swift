import Emissions
import Foundation
import Postgres

/// Fills a realistic demo organization: teams, projects, experiments, runs spread over a period, and their
/// samples (GPU training jobs on grids of different intensity), written through the same sample writer as
/// ingestion so every total and rollup is consistent.
package enum DemoData {
    package struct Options: Sendable {
        package var organization = "Demo Research"
        package var email = "demo@soot.local"
        package var teams = 5
        package var projectsPerTeam = 6
        package var experimentsPerProject = 3
        package var runs = 3000
        package var samples = 1_000_000
        package var days = 365
        package var seed: UInt64 = 42

        package init() {}
    }

    /// A small deterministic generator, so a demo is the same every time.
    package struct Random {
        package var state: UInt64
        package mutating func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double((state >> 11) & ((1 << 53) - 1)) / Double(1 << 53)
        }
        package mutating func pick<T>(_ items: [T]) -> T { items[min(items.count - 1, Int(next() * Double(items.count)))] }
    }

    /// Creates the demo and returns a summary (with the demo user's password when it was created).
    package static func generate(_ pool: ConnectionPool, _ options: Options, progress: (Int, Int) -> Void) throws -> Summary {
        let teamNames = ["Vision", "Speech", "Language", "Robotics", "Platform", "Recommendations", "Forecasting", "Research"]
        let projectWords = ["Detector", "Segmenter", "Transcriber", "Translator", "Planner", "Ranker", "Embedder", "Tokenizer",
                            "Summarizer", "Tracker", "Denoiser", "Retriever"]
        let places: [(country: String, iso: String, provider: String?, region: String?, intensity: Double)] = [
            ("France", "FRA", nil, nil, 56), ("Germany", "DEU", nil, nil, 381), ("United States", "USA", "aws", "us-east-1", 379),
            ("Finland", "FIN", "gcp", "europe-north1", 112), ("Sweden", "SWE", nil, nil, 41), ("Poland", "POL", nil, nil, 662),
            ("India", "IND", "azure", "centralindia", 713), ("Canada", "CAN", "gcp", "northamerica-northeast1", 2),
        ]
        var random = Random(state: options.seed)
        let first = try Bootstrap.run(pool, .init(organization: options.organization, team: teamNames[0],
                                                  project: "\(projectWords[0]) 1", experiment: "baseline", email: options.email))
        let organizationID = UUID(uuidString: first["organization_id"]!.stringValue!)!
        let userID = UUID(uuidString: first["user_id"]!.stringValue!)!
        var experiments: [(placement: (UUID, UUID, UUID), id: UUID, place: Int)] = []
        try pool.withConnection { connection in
            for teamIndex in 0..<options.teams {
                let name = teamNames[teamIndex % teamNames.count] + (teamIndex >= teamNames.count ? " \(teamIndex)" : "")
                let teamID: UUID = try connection.query("""
                    INSERT INTO teams (organization_id, name, slug) VALUES (\(organizationID), \(name), \(Naming.slug(name)))
                    ON CONFLICT (organization_id, (lower(name))) DO UPDATE SET name = teams.name RETURNING id
                    """).first!.decode("id")
                try connection.query("""
                    INSERT INTO team_members (organization_id, team_id, user_id) VALUES (\(organizationID), \(teamID), \(userID)) ON CONFLICT DO NOTHING
                    """)
                for projectIndex in 0..<options.projectsPerTeam {
                    let projectName = "\(projectWords[(teamIndex * 3 + projectIndex) % projectWords.count]) \(projectIndex + 1)"
                    let projectID: UUID = try connection.query("""
                        INSERT INTO projects (organization_id, team_id, name, slug) VALUES (\(organizationID), \(teamID), \(projectName), \(Naming.slug(projectName)))
                        ON CONFLICT (organization_id, team_id, (lower(name))) DO UPDATE SET name = projects.name RETURNING id
                        """).first!.decode("id")
                    for experimentIndex in 0..<options.experimentsPerProject {
                        let place = Int(random.next() * Double(places.count))
                        let experimentName = ["baseline", "ablation", "sweep", "fine-tune", "distill"][experimentIndex % 5]
                        let experimentID: UUID = try connection.query("""
                            INSERT INTO experiments (organization_id, team_id, project_id, name, country_name, country_iso_code, on_cloud, cloud_provider, cloud_region)
                            VALUES (\(organizationID), \(teamID), \(projectID), \(experimentName), \(places[place].country), \(places[place].iso),
                                    \(places[place].provider != nil), \(places[place].provider), \(places[place].region))
                            ON CONFLICT (organization_id, project_id, (lower(name))) DO UPDATE SET name = experiments.name RETURNING id
                            """).first!.decode("id")
                        experiments.append(((organizationID, teamID, projectID), experimentID, place))
                    }
                }
            }
        }
        let now = Date().timeIntervalSince1970
        let perRun = max(1, options.samples / max(1, options.runs))
        var written = 0
        var batch: [SampleRecord] = []
        try pool.withConnection { connection in
            for _ in 0..<options.runs {
                let experiment = random.pick(experiments)
                let place = places[experiment.place]
                let gpus = random.pick([0, 1, 2, 4, 8])
                let interval = random.pick([15.0, 30.0, 60.0])
                let start = now - random.next() * Double(options.days) * 86_400 - Double(perRun) * interval
                let runID: UUID = try connection.query("""
                    INSERT INTO runs (organization_id, team_id, project_id, experiment_id, source, started_at, ended_at, last_seen_at, os,
                                      python_version, codecarbon_version, cpu_count, cpu_model, gpu_count, gpu_model, ram_total_size,
                                      country_name, country_iso_code, cloud_provider, cloud_region, tracking_mode)
                    VALUES (\(experiment.placement.0), \(experiment.placement.1), \(experiment.placement.2), \(experiment.id), 'demo',
                            \(Date(timeIntervalSince1970: start)), \(Date(timeIntervalSince1970: start + Double(perRun) * interval)),
                            \(Date(timeIntervalSince1970: start + Double(perRun) * interval)), 'Linux-6.1-x86_64', '3.11.7', '3.3.2', 32,
                            'AMD EPYC 7763 64-Core Processor', \(gpus), \(gpus > 0 ? "\(gpus) x NVIDIA A100-SXM4-80GB" : nil as String?), 256,
                            \(place.country), \(place.iso), \(place.provider), \(place.region), 'machine')
                    RETURNING id
                    """).first!.decode("id")
                let placement = RunPlacement(organizationID: experiment.placement.0, teamID: experiment.placement.1,
                                             projectID: experiment.placement.2, experimentID: experiment.id, runID: runID)
                let cpuPower = 60 + random.next() * 120, ramPower = 20 + random.next() * 30
                let gpuPower = Double(gpus) * (200 + random.next() * 200)
                for index in 0..<perRun {
                    let load = 0.7 + 0.3 * random.next()
                    let cpu = cpuPower * load * interval / 3_600_000, gpu = gpuPower * load * interval / 3_600_000
                    let ram = ramPower * interval / 3_600_000
                    let energy = cpu + gpu + ram
                    let measure = SampleMeasure(
                        timestamp: start + Double(index + 1) * interval, durationSeconds: interval, emissionsKg: energy * place.intensity / 1000,
                        emissionsRate: energy * place.intensity / 1000 / interval, cpuPowerW: cpuPower * load, gpuPowerW: gpuPower * load,
                        ramPowerW: ramPower, cpuEnergyKWh: cpu, gpuEnergyKWh: gpu, ramEnergyKWh: ram, energyKWh: energy,
                        cpuUtilization: load * 100, gpuUtilization: gpus > 0 ? load * 100 : nil, ramUtilization: 40)
                    batch.append(SampleRecord(placement: placement, measure: measure, clientKey: nil))
                    if batch.count >= 5000 {
                        _ = try SampleWriter.write(connection, batch)
                        written += batch.count
                        batch.removeAll(keepingCapacity: true)
                        progress(written, perRun * options.runs)
                    }
                }
            }
            if !batch.isEmpty {
                _ = try SampleWriter.write(connection, batch)
                written += batch.count
                progress(written, perRun * options.runs)
            }
        }
        // Budgets to look at, set from what the demo made: each team a monthly one (the first team's below what it
        // used this month, so that it is over), each project a quarterly one, the organization a yearly one.
        try pool.query("""
            INSERT INTO budgets (organization_id, team_id, project_id, period, limit_kg, created_by)
            SELECT t.organization_id, t.id, NULL, 'month',
                   greatest(0.001, coalesce(sum(d.emissions_kg) FILTER (WHERE d.day >= date_trunc('month', current_date)), 0)
                                   * CASE WHEN t.rank = 1 THEN 0.8 ELSE 1.6 END,
                            coalesce(sum(d.emissions_kg), 0) / \(max(1, options.days / 30)) * 0.5), \(userID)
            FROM (SELECT *, row_number() OVER (ORDER BY created_at, id) AS rank FROM teams WHERE organization_id = \(organizationID)) t
            LEFT JOIN experiment_days d ON d.organization_id = t.organization_id AND d.team_id = t.id
            GROUP BY t.organization_id, t.id, t.rank
            ON CONFLICT DO NOTHING
            """)
        try pool.query("""
            INSERT INTO budgets (organization_id, team_id, project_id, period, limit_kg, created_by)
            SELECT p.organization_id, p.team_id, p.id, 'quarter',
                   greatest(0.001, coalesce(sum(d.emissions_kg) FILTER (WHERE d.day >= date_trunc('quarter', current_date)), 0) * (0.7 + p.rank * 0.4),
                            coalesce(sum(d.emissions_kg), 0) / \(max(1, options.days / 91)) * 0.5), \(userID)
            FROM (SELECT *, row_number() OVER (PARTITION BY team_id ORDER BY name) AS rank FROM projects WHERE organization_id = \(organizationID)) p
            LEFT JOIN experiment_days d ON d.organization_id = p.organization_id AND d.project_id = p.id
            GROUP BY p.organization_id, p.team_id, p.id, p.rank
            ON CONFLICT DO NOTHING
            """)
        try pool.query("""
            INSERT INTO budgets (organization_id, period, limit_kg, created_by)
            SELECT \(organizationID), 'year', greatest(0.001, coalesce(sum(emissions_kg), 0) * 1.5), \(userID)
            FROM experiment_days WHERE organization_id = \(organizationID)
            ON CONFLICT DO NOTHING
            """)
        return [
            "organization_id": .id(organizationID), "email": .string(options.email), "password": first["password"] ?? .null,
            "teams": .int(options.teams), "experiments": .int(experiments.count), "runs": .int(options.runs), "samples": .int(written),
        ]
    }
}
