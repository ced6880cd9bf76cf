import Foundation
import Metrics

/// What the ingest path tells Prometheus: samples committed, the energy and emissions they carried by organization
/// and team (so `rate()` gives live emissions per team), the group commit's batches, its latency and its queue.
///
/// Cardinality: the energy and emissions counters have one series per team that ever sent a sample since the
/// process started (two series per team), or per project with `projectLabels`; every other family has a fixed,
/// small number of series.
package final class IngestMetrics: Sendable {
    /// Whether energy and emissions are labelled by project too (`--metrics-project-labels`).
    package let projectLabels: Bool

    package let samples = CounterFamily("soot_ingest_samples_total",
                                        help: "Samples committed to PostgreSQL (duplicates of a retried post are not counted), by path.",
                                        labels: ["path"])
    package let energy: CounterFamily
    package let emissions: CounterFamily
    package let batchSamples = HistogramFamily("soot_ingest_batch_samples",
                                               help: "Samples per group-commit batch.",
                                               buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000])
    package let commitSeconds = HistogramFamily("soot_ingest_commit_duration_seconds",
                                                help: "Time to write and commit one group-commit batch.",
                                                buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], unit: "seconds")
    package let failedBatches = CounterFamily("soot_ingest_failed_batches_total",
                                              help: "Group-commit batches that failed (their requests were answered with an error).")

    package init(projectLabels: Bool = false) {
        self.projectLabels = projectLabels
        let labels = projectLabels ? ["organization_id", "team_id", "project_id"] : ["organization_id", "team_id"]
        let by = projectLabels ? "organization, team and project id" : "organization and team id"
        energy = CounterFamily("soot_ingested_energy_kwh_total", help: "Energy carried by committed samples, in kWh, by \(by).", labels: labels)
        emissions = CounterFamily("soot_ingested_emissions_kg_total", help: "Emissions carried by committed samples, in kg CO2e, by \(by).",
                                  labels: labels)
    }

    package func register(in registry: MetricsRegistry, queued: @escaping @Sendable () -> Int) {
        registry.register(samples)
        registry.register(energy)
        registry.register(emissions)
        registry.register(batchSamples)
        registry.register(commitSeconds)
        registry.register(failedBatches)
        registry.register(GaugeFamily("soot_ingest_queued_samples", help: "Samples waiting for the group commit.") { Double(queued()) })
    }

    /// Counts what a commit wrote: `written[i]` tells whether `records[i]` was new.
    package func committed(_ records: [SampleRecord], written: [Bool], path: String) {
        var fresh = 0
        var byTeam: [[String]: (energy: Double, emissions: Double)] = [:]
        for (record, isNew) in zip(records, written) where isNew {
            fresh += 1
            let key = projectLabels
                ? [record.placement.organizationID.idText, record.placement.teamID.idText, record.placement.projectID.idText]
                : [record.placement.organizationID.idText, record.placement.teamID.idText]
            byTeam[key, default: (0, 0)].energy += record.measure.energyKWh
            byTeam[key, default: (0, 0)].emissions += record.measure.emissionsKg
        }
        samples.add(Double(fresh), [path])
        for (key, sums) in byTeam {
            energy.add(sums.energy, key)
            emissions.add(sums.emissions, key)
        }
    }
}
