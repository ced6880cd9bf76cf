import Foundation
import Postgres
import TestSupport
import Testing

@Suite struct MigratorTests {
    let first = Migrator.Migration(version: 1, name: "one", sql: "CREATE TABLE a (id int); INSERT INTO a VALUES (1);")
    let second = Migrator.Migration(version: 2, name: "two", sql: "CREATE TABLE b (id int)")

    @Test func appliesInOrderOnceAndRecordsChecksums() throws {
        try TestDatabase.withPool(migrated: false) { pool, _ in
            try pool.withConnection { connection in
                // Given out of order, applied in order.
                let applied = try Migrator(migrations: [second, first]).migrate(connection)
                #expect(applied == [1, 2])
                #expect(try Migrator(migrations: [first, second]).migrate(connection).isEmpty)
                let rows = try connection.query("SELECT version, name, length(checksum) AS l FROM schema_migrations ORDER BY version").rows
                #expect(try rows.map { try $0.decode("version", as: Int.self) } == [1, 2])
                #expect(try rows.map { try $0.decode("l", as: Int.self) } == [64, 64])
                #expect(try connection.query("SELECT count(*) AS n FROM a").first!.decode("n", as: Int.self) == 1)
            }
        }
    }

    @Test func refusesAMigrationEditedAfterItWasApplied() throws {
        try TestDatabase.withPool(migrated: false) { pool, _ in
            try pool.withConnection { connection in
                try Migrator(migrations: [first]).migrate(connection)
                let edited = Migrator.Migration(version: 1, name: "one", sql: first.sql + " -- edited")
                #expect {
                    try Migrator(migrations: [edited]).migrate(connection)
                } throws: { error in
                    (error as? DatabaseError)?.kind == .migration
                }
            }
        }
    }

    @Test func aFailingMigrationLeavesNothingHalfDone() throws {
        try TestDatabase.withPool(migrated: false) { pool, _ in
            try pool.withConnection { connection in
                let broken = Migrator.Migration(version: 3, name: "broken", sql: "CREATE TABLE c (id int); SELECT nonsense_fn();")
                #expect(throws: DatabaseError.self) { try Migrator(migrations: [first, broken]).migrate(connection) }
                let versions = try connection.query("SELECT version FROM schema_migrations").rows.map { try $0.decode("version", as: Int.self) }
                #expect(versions == [1])
                #expect(try connection.query("SELECT to_regclass('c') IS NULL AS gone").first!.decode("gone", as: Bool.self))
            }
        }
    }

    @Test func concurrentStartsApplyEachMigrationOnce() throws {
        try TestDatabase.withPool(migrated: false) { _, url in
            let slow = Migrator.Migration(version: 5, name: "slow", sql: "SELECT pg_sleep(0.3); CREATE TABLE slow (id int);")
            let results = Results()
            DispatchQueue.concurrentPerform(iterations: 4) { _ in
                do {
                    let connection = try DatabaseConnection(url: url)
                    let applied = try Migrator(migrations: [first, slow]).migrate(connection)
                    results.append(applied)
                    connection.close()
                } catch {
                    results.append([-1])
                }
            }
            let all = results.values
            #expect(all.count == 4)
            #expect(all.flatMap { $0 }.sorted() == [1, 5])
        }
    }

    @Test func theRepositoryMigrationsApplyToAnEmptyDatabase() throws {
        try TestDatabase.withPool(migrated: false) { pool, _ in
            try pool.withConnection { connection in
                let migrator = try Migrator(directory: TestDatabase.migrationsFolder)
                #expect(!migrator.migrations.isEmpty)
                let applied = try migrator.migrate(connection)
                #expect(applied == migrator.migrations.map(\.version))
                #expect(try connection.query("SELECT to_regclass('emission_samples') IS NOT NULL AS ok").first!.decode("ok", as: Bool.self))
            }
        }
    }
}

extension MigratorTests {
    /// After migration 0007, the value rules of runs and samples are domains, not table CHECK constraints (which
    /// PostgreSQL would re-read and check in every ingest statement, see the migration), and they still hold: a
    /// negative energy is refused by the table, each rule by its domain, and NULL passes as before.
    @Test func runAndSampleRulesAreDomains() throws {
        try TestDatabase.withPool(migrated: true) { pool, _ in
            let checks = try pool.query("""
                SELECT count(*) AS n FROM pg_constraint WHERE contype = 'c' AND conrelid IN ('runs'::regclass, 'emission_samples'::regclass)
                """).first!
            #expect(try checks.decode("n", as: Int.self) == 0)
            var domains: [String: String] = [:]
            for row in try pool.query("""
                SELECT table_name || '.' || column_name AS name, domain_name FROM information_schema.columns
                WHERE table_name IN ('runs', 'emission_samples') AND domain_name IS NOT NULL
                """).rows {
                domains[try row.decode("name")] = try row.decode("domain_name")
            }
            #expect(domains.count == 32)  // with emission_samples.sample_count (migration 0011)
            #expect(domains["runs.country_iso_code"] == "soot_text_3" && domains["runs.gpu_model"] == "soot_text_1000")
            #expect(domains["runs.source"] == "soot_run_source" && domains["runs.latitude"] == "soot_latitude")
            #expect(domains["emission_samples.energy_kwh"] == "soot_nonnegative" && domains["emission_samples.client_key"] == "soot_text_200")

            // The table refuses a negative energy, with the rule's name; nothing is written.
            let insert = { (energy: Double) in
                try pool.query("""
                    INSERT INTO emission_samples (id, organization_id, run_id, "timestamp", duration_seconds, emissions_kg, energy_kwh)
                    VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), now(), 1, 0, \(energy))
                    """)
            }
            let refused = #expect(throws: DatabaseError.self) { try insert(-0.5) }
            #expect(refused?.sqlState == "23514")
            #expect(refused?.constraint == "soot_nonnegative_check")
            #expect(try pool.query("SELECT count(*) AS n FROM emission_samples").first!.decode("n", as: Int.self) == 0)
            try insert(0.5)
            #expect(try pool.query("SELECT count(*) AS n FROM emission_samples").first!.decode("n", as: Int.self) == 1)

            // Each rule, at and past its limit; NULL passes.
            let cases: [(String, String, Bool)] = [
                ("0", "soot_nonnegative", true), ("-1e-300", "soot_nonnegative", false), ("0", "soot_count", true), ("-1", "soot_count", false),
                ("180", "soot_longitude", true), ("-180.5", "soot_longitude", false), ("-90", "soot_latitude", true), ("90.1", "soot_latitude", false),
                ("NaN", "soot_nonnegative", true), ("NaN", "soot_latitude", false),
                ("FRA", "soot_text_3", true), ("FRAN", "soot_text_3", false),
                (String(repeating: "\u{E9}", count: 100), "soot_text_100", true), (String(repeating: "a", count: 101), "soot_text_100", false),
                (String(repeating: "a", count: 200), "soot_text_200", true), (String(repeating: "a", count: 201), "soot_text_200", false),
                (String(repeating: "a", count: 500), "soot_text_500", true), (String(repeating: "a", count: 501), "soot_text_500", false),
                (String(repeating: "a", count: 1000), "soot_text_1000", true), (String(repeating: "a", count: 1001), "soot_text_1000", false),
                ("demo", "soot_run_source", true), ("agent", "soot_run_source", false),
            ]
            for (value, domain, allowed) in cases {
                let query = SQLQuery(unsafeSQL: "SELECT $1::\(domain) IS NOT NULL AS ok", binds: [value])
                if allowed {
                    #expect(try pool.query(query).first!.decode("ok", as: Bool.self), "\(value) as \(domain)")
                } else {
                    let error = #expect(throws: DatabaseError.self, "\(value) as \(domain)") { try pool.query(query) }
                    #expect(error?.sqlState == "23514")
                }
                let null = SQLQuery(unsafeSQL: "SELECT $1::\(domain) IS NULL AS ok", binds: [nil])
                #expect(try pool.query(null).first!.decode("ok", as: Bool.self))
            }
        }
    }
}

final class Results: @unchecked Sendable {
    // Safety: guarded by `lock`.
    private let lock = NSLock()
    private var storage: [[Int]] = []
    func append(_ value: [Int]) { lock.lock(); storage.append(value); lock.unlock() }
    var values: [[Int]] { lock.lock(); defer { lock.unlock() }; return storage }
}

extension MigratorTests {
    /// Migration 0011 on a populated table: every sample moves into the partition of its UTC month unchanged, the
    /// client keys move to `sample_keys` with their samples' ids, and the new table's keys are in place.
    @Test func populatedSamplesMoveIntoMonthPartitionsWithTheirKeys() throws {
        try TestDatabase.withPool(migrated: false) { pool, _ in
            let all = try Migrator(directory: TestDatabase.migrationsFolder)
            try pool.withConnection { try Migrator(migrations: all.migrations.filter { $0.version <= 10 }).migrate($0) }
            // 20,000 samples of 50 runs over 2019-2026, one in ten with a client key, two on a month's edges.
            try pool.query("""
                INSERT INTO emission_samples (id, organization_id, run_id, "timestamp", duration_seconds, emissions_kg, energy_kwh,
                                              cpu_energy_kwh, water_liters, client_key)
                SELECT gen_random_uuid(), ('00000000-0000-0000-0000-' || lpad((i % 3)::text, 12, '0'))::uuid,
                       ('00000000-0000-0000-0001-' || lpad((i % 50)::text, 12, '0'))::uuid,
                       timestamptz '2019-01-01 00:00:00+00' + (i * interval '3 hours 7 minutes 11.123456 seconds'),
                       15, random() / 7, random() / 3, random() / 5, random(), CASE WHEN i % 10 = 0 THEN 'key-' || i END
                FROM generate_series(1, 20000) i
                """)
            try pool.query("""
                INSERT INTO emission_samples (id, organization_id, run_id, "timestamp", duration_seconds, emissions_kg, energy_kwh)
                VALUES (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), '2024-02-29 23:59:59.999999+00', 1, 0.5, 1),
                       (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), '2024-03-01 00:00:00+00', 1, 0.25, 2)
                """)
            let fingerprint: SQLQuery = """
                SELECT count(*) AS n, md5(string_agg(id::text || organization_id || run_id || "timestamp" || duration_seconds || emissions_kg
                       || energy_kwh || cpu_energy_kwh || water_liters || coalesce(client_key, '-'), ',' ORDER BY id)) AS digest
                FROM emission_samples
                """
            let before = try pool.query(fingerprint).first!
            let keyed = try pool.query("""
                SELECT md5(string_agg(organization_id || '/' || run_id || '/' || client_key || '/' || id, ',' ORDER BY id)) AS digest
                FROM emission_samples WHERE client_key IS NOT NULL
                """).first!.decode("digest", as: String.self)
            let months = try pool.query("""
                SELECT count(DISTINCT date_trunc('month', "timestamp" AT TIME ZONE 'UTC')) AS n FROM emission_samples
                """).first!.decode("n", as: Int.self)

            #expect(try pool.withConnection { try Migrator(migrations: all.migrations.filter { $0.version <= 11 }).migrate($0) } == [11])

            let after = try pool.query(fingerprint).first!
            #expect(try after.decode("n", as: Int.self) == 20_002)
            #expect(try after.decode("digest", as: String.self) == before.decode("digest", as: String.self))
            #expect(try pool.query("SELECT sum(sample_count)::int AS n FROM emission_samples").first!.decode("n", as: Int.self) == 20_002)
            // One partition per month that has samples (and this month's), each holding only its month.
            let partitions = try pool.query("""
                SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound,
                       (SELECT count(*) FROM emission_samples s WHERE s.tableoid = c.oid) AS n
                FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'emission_samples'::regclass
                """).rows
            #expect(partitions.count >= months && partitions.count <= months + 1)
            let byName = Dictionary(uniqueKeysWithValues: try partitions.map { (try $0.decode("name", as: String.self), $0) })
            let february = try #require(byName["emission_samples_y2024m02"])
            #expect(try february.decode("bound", as: String.self)
                    == "FOR VALUES FROM ('2024-02-01 00:00:00+00') TO ('2024-03-01 00:00:00+00')")
            #expect(try pool.query("""
                SELECT count(*) AS n FROM emission_samples_y2024m02 WHERE "timestamp" = '2024-02-29 23:59:59.999999+00'
                """).first!.decode("n", as: Int.self) == 1)
            #expect(try pool.query("""
                SELECT count(*) AS n FROM emission_samples_y2024m03 WHERE "timestamp" = '2024-03-01 00:00:00+00'
                """).first!.decode("n", as: Int.self) == 1)
            // The keys, with the ids of their samples.
            #expect(try pool.query("""
                SELECT md5(string_agg(organization_id || '/' || run_id || '/' || client_key || '/' || sample_id, ',' ORDER BY sample_id)) AS digest
                FROM sample_keys
                """).first!.decode("digest", as: String.self) == keyed)
            let primaryKey = try pool.query("""
                SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'emission_samples'::regclass AND contype = 'p'
                """).first!.decode("def", as: String.self)
            #expect(primaryKey == "PRIMARY KEY (organization_id, id, \"timestamp\")")
            // A month without a partition gets one on demand, once.
            #expect(try pool.query("SELECT soot_sample_partition('2003-05-17 12:00:00+00') AS existed").first!.decode("existed", as: Bool.self) == false)
            #expect(try pool.query("SELECT soot_sample_partition('2003-05-01 00:00:00+00') AS existed").first!.decode("existed", as: Bool.self) == true)
            #expect(try pool.query("SELECT to_regclass('emission_samples_y2003m05') IS NOT NULL AS made").first!.decode("made", as: Bool.self))
        }
    }
}

extension MigratorTests {
    /// Citus's rules for the tables docs/SCALING.md distributes by `organization_id`, read from the catalog: every
    /// primary key, unique constraint and unique index includes `organization_id`, and so does every foreign key
    /// between two such tables, on both sides; and no other table (users, tokens, sessions... which would be reference
    /// or coordinator tables) has a foreign key into them. Migrations 0011 and 0012 made the schema follow them.
    @Test func distributedTablesFollowCitussRules() throws {
        let distributed = ["teams", "projects", "experiments", "runs", "emission_samples", "sample_keys", "experiment_days",
                           "organization_members", "team_members", "invitations", "settings", "budgets",
                           "webhooks", "budget_events", "webhook_deliveries"]
        try TestDatabase.withPool(migrated: true) { pool, _ in
            func violations() throws -> [String] { try pool.query("""
                WITH distributed AS (SELECT t::regclass AS rel FROM unnest(\(distributed)::text[]) t),
                org AS (SELECT attrelid, attnum FROM pg_attribute WHERE attname = 'organization_id' AND NOT attisdropped)
                SELECT c.conrelid::regclass::text || ': ' || pg_get_constraintdef(c.oid) AS violation
                FROM pg_constraint c JOIN distributed d ON d.rel = c.conrelid
                WHERE c.contype IN ('p', 'u', 'f') AND (c.contype <> 'f' OR c.confrelid IN (SELECT rel FROM distributed))
                  AND (NOT EXISTS (SELECT 1 FROM org o WHERE o.attrelid = c.conrelid AND o.attnum = ANY (c.conkey))
                       OR (c.contype = 'f' AND NOT EXISTS (SELECT 1 FROM org o WHERE o.attrelid = c.confrelid AND o.attnum = ANY (c.confkey))))
                UNION ALL
                SELECT i.indrelid::regclass::text || ': ' || pg_get_indexdef(i.indexrelid)
                FROM pg_index i JOIN distributed d ON d.rel = i.indrelid
                WHERE i.indisunique AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
                  AND NOT EXISTS (SELECT 1 FROM org o WHERE o.attrelid = i.indrelid AND o.attnum = ANY (i.indkey::int2[]))
                ORDER BY 1
                """).rows.map { try $0.decode("violation", as: String.self) } }
            let found = try violations()
            #expect(found.isEmpty, "\(found.joined(separator: "\n"))")
            let inbound = try pool.query("""
                SELECT c.conrelid::regclass::text || ': ' || pg_get_constraintdef(c.oid) AS violation FROM pg_constraint c
                WHERE c.contype = 'f' AND c.confrelid IN (SELECT t::regclass FROM unnest(\(distributed)::text[]) t)
                  AND c.conrelid NOT IN (SELECT t::regclass FROM unnest(\(distributed)::text[]) t)
                """).rows.map { try $0.decode("violation", as: String.self) }
            #expect(inbound.isEmpty, "\(inbound)")
            // The rules are really read: a unique index without the column is caught.
            try pool.query("CREATE UNIQUE INDEX teams_slug_alone ON teams (slug)")
            #expect(try violations() == ["teams: CREATE UNIQUE INDEX teams_slug_alone ON public.teams USING btree (slug)"])
        }
    }
}

extension MigratorTests {
    /// Migration 0012 on a populated database: public slugs and invitation secrets move to their link tables, and
    /// the new keys hold what the old ones did, and more: an invitation can no longer name another organization's
    /// team, which the old foreign key to teams (id) allowed.
    @Test func citusKeysKeepLinksAndTightenTeams() throws {
        try TestDatabase.withPool(migrated: false) { pool, _ in
            let all = try Migrator(directory: TestDatabase.migrationsFolder)
            try pool.withConnection { try Migrator(migrations: all.migrations.filter { $0.version <= 11 }).migrate($0) }
            let ids = try pool.query("""
                WITH o AS (INSERT INTO organizations (name, slug) VALUES ('Acme', 'acme'), ('Other', 'other') RETURNING id, slug),
                t AS (INSERT INTO teams (organization_id, name, slug) SELECT id, 'ML', 'ml' FROM o RETURNING id, organization_id),
                p AS (INSERT INTO projects (organization_id, team_id, name, slug, is_public, public_slug)
                      SELECT organization_id, id, 'Vision', 'vision', true, 'pub-' || organization_id FROM t RETURNING id, organization_id, team_id),
                i AS (INSERT INTO invitations (organization_id, team_id, email, role, secret_hash, expires_at)
                      SELECT organization_id, team_id, 'x@y.test', 'member', 'hash-' || organization_id, now() + interval '1 day' FROM p
                      RETURNING id, organization_id, team_id)
                SELECT i.organization_id, i.team_id, p.id AS project_id, i.id AS invitation_id FROM i JOIN p USING (organization_id)
                ORDER BY i.organization_id
                """).rows
            #expect(ids.count == 2)
            #expect(try pool.withConnection { try Migrator(migrations: all.migrations.filter { $0.version <= 12 }).migrate($0) } == [12])
            #expect(try pool.query("SELECT count(*) AS n FROM public_links l JOIN projects p ON p.id = l.project_id AND p.public_slug = l.slug")
                        .first!.decode("n", as: Int.self) == 2)
            #expect(try pool.query("""
                SELECT count(*) AS n FROM invitation_links l JOIN invitations i ON i.id = l.invitation_id AND i.secret_hash = l.secret_hash
                """).first!.decode("n", as: Int.self) == 2)
            // An invitation of the first organization naming the second's team: refused now.
            let first = try ids[0].decode("organization_id", as: UUID.self), otherTeam = try ids[1].decode("team_id", as: UUID.self)
            let refused = #expect(throws: DatabaseError.self) {
                try pool.query("""
                    INSERT INTO invitations (organization_id, team_id, email, role, secret_hash, expires_at)
                    VALUES (\(first), \(otherTeam), 'z@y.test', 'member', 'hash-new', now() + interval '1 day')
                    """)
            }
            #expect(refused?.isForeignKeyViolation == true)
            // A second project may not take a public slug in use, in any organization.
            let taken = #expect(throws: DatabaseError.self) {
                try pool.query("UPDATE projects SET public_slug = 'pub-' || \(first) WHERE organization_id <> \(first)")
            }
            #expect(taken?.isUniqueViolation == true && taken?.constraint == "public_links_slug_key")
            // Renaming and unsharing move the link; deleting the invitation removes its link.
            try pool.query("UPDATE projects SET public_slug = 'renamed' WHERE organization_id = \(first)")
            try pool.query("UPDATE projects SET public_slug = NULL WHERE organization_id <> \(first)")
            #expect(try pool.query("SELECT string_agg(slug, ',') AS s FROM public_links").first!.decode("s", as: String.self) == "renamed")
            try pool.query("DELETE FROM invitations WHERE organization_id = \(first)")
            #expect(try pool.query("SELECT count(*) AS n FROM invitation_links").first!.decode("n", as: Int.self) == 1)
        }
    }
}
