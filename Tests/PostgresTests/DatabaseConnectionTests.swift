import Foundation
import Postgres
import TestSupport
import Testing

@Suite struct DatabaseConnectionTests {
    @Test func bindsRoundTripEveryType() throws {
        try TestDatabase.withPool(migrated: false) { pool, _ in
            let id = UUID()
            let when = Date(timeIntervalSince1970: 1_790_000_000.123456)
            let evil = "Robert'); DROP TABLE students;-- \u{1F600} \"quoted\" \\ back"
            let row = try pool.query("""
                SELECT \(evil)::text AS text, \(42)::int AS int, \(0.1 + 0.2)::float8 AS double, \(true)::bool AS flag,
                       \(id)::uuid AS id, \(when)::timestamptz AS at, \(nil as String?)::text AS missing
                """).first!
            #expect(try row.decode("text", as: String.self) == evil)
            #expect(try row.decode("int", as: Int.self) == 42)
            #expect(try row.decode("double", as: Double.self) == 0.1 + 0.2)
            #expect(try row.decode("flag", as: Bool.self) == true)
            #expect(try row.decode("id", as: UUID.self) == id)
            let decoded = try row.decode("at", as: Date.self)
            #expect(abs(decoded.timeIntervalSince1970 - when.timeIntervalSince1970) < 0.000_001)
            #expect(try row.decode("missing", as: String?.self) == nil)
        }
    }

    /// The embedded cluster checkpoints at most every 15 minutes or 4 GB of WAL, and its background writer cleans
    /// up to 1,000 buffers every 50 ms (see `EmbeddedPostgres.start`).
    @Test func embeddedClusterCheckpointsRarely() throws {
        try TestDatabase.withPool(migrated: false) { pool, _ in
            let row = try pool.query("""
                SELECT current_setting('max_wal_size') AS wal, current_setting('checkpoint_timeout') AS timeout,
                       current_setting('bgwriter_delay') AS delay, current_setting('bgwriter_lru_maxpages') AS pages,
                       current_setting('bgwriter_lru_multiplier') AS multiplier
                """).first!
            #expect(try row.decode("wal", as: String.self) == "4GB")
            #expect(try row.decode("timeout", as: String.self) == "15min")
            #expect(try row.decode("delay", as: String.self) == "50ms")
            #expect(try row.decode("pages", as: String.self) == "1000")
            #expect(try row.decode("multiplier", as: String.self) == "4")
        }
    }

    /// Binary array binds read by the server exactly as the same values sent as text: NULLs, an empty array,
    /// non-ASCII text, microseconds, extreme doubles and integers; prepared (run twice) and mixed with text binds.
    @Test func binaryArrayBindsEqualTheirTextForm() throws {
        try TestDatabase.withPool(migrated: false) { pool, _ in
            let ids = [UUID(), UUID(uuidString: "00000000-0000-0000-0000-000000000000")!, UUID(uuidString: "FFFFFFFF-FFFF-4FFF-8FFF-FFFFFFFFFFFF")!]
            let doubles: [Double?] = [0.1 + 0.2, nil, -0.0, 1e-300, 5e-324, .greatestFiniteMagnitude, -42.5]
            let times: [Double] = [1_790_000_000.123456, 946_684_800, 946_684_799.999999, 0.5, 4_102_444_800.000001]
            let texts: [String?] = ["plain", nil, "", "caf\u{e9} \u{1F600} \"q\" \\ {a,b}", "NULL"]
            let integers: [Int64] = [0, 1, -1, .max, .min, 4_096]
            for _ in 0..<2 {
                let row = try pool.query("""
                    SELECT \(PostgresBinaryArray.uuids(ids))::uuid[] = \(ids)::uuid[] AS uuids,
                           \(PostgresBinaryArray.doubles(doubles))::float8[]::text AS doubles, \(doubles)::float8[]::text AS doubles_text,
                           \(PostgresBinaryArray.timestamps(times))::timestamptz[] = \(times.map { Date(timeIntervalSince1970: $0) })::timestamptz[] AS times,
                           \(PostgresBinaryArray.texts(texts))::text[] IS NOT DISTINCT FROM \(texts)::text[] AS texts,
                           cardinality(\(PostgresBinaryArray.doubles([]))::float8[]) AS empty,
                           array_length(\(PostgresBinaryArray.texts(texts))::text[], 1) AS count,
                           \(PostgresBinaryArray.int64s(integers))::int8[] = \(integers)::int8[] AS integers,
                           cardinality(\(PostgresBinaryArray.uuids([]))::uuid[]) AS empty_uuids
                    """).first!
                #expect(try row.decode("uuids", as: Bool.self))
                #expect(try row.decode("doubles", as: String.self) == (try row.decode("doubles_text", as: String.self)))
                #expect(try row.decode("times", as: Bool.self))
                #expect(try row.decode("texts", as: Bool.self))
                #expect(try row.decode("empty", as: Int.self) == 0)
                #expect(try row.decode("count", as: Int.self) == texts.count)
                #expect(try row.decode("integers", as: Bool.self))
                #expect(try row.decode("empty_uuids", as: Int.self) == 0)
            }
            // The element type is checked by the server: uuids sent where text is expected are refused.
            #expect(throws: DatabaseError.self) { try pool.query("SELECT \(PostgresBinaryArray.uuids(ids))::text[]") }
        }
    }

    /// Statements are prepared once per connection and found again by their text (the last one by a cheaper
    /// check): alternating statements each get their own results, and statements dropped behind the connection's
    /// back (`DEALLOCATE ALL`) fail once and are prepared again.
    @Test func preparedStatementsAreReusedAndRecovered() throws {
        try TestDatabase.withPool(migrated: false) { pool, _ in
            try pool.withConnection { connection in
                func a(_ value: Int) throws -> Int { try connection.query("SELECT \(value)::int + 1 AS n").first!.decode("n") }
                func b(_ value: Int) throws -> Int { try connection.query("SELECT \(value)::int * 10 AS n").first!.decode("n") }
                for value in 0..<3 {
                    #expect(try a(value) == value + 1)
                    #expect(try a(value) == value + 1)
                    #expect(try b(value) == value * 10)
                    #expect(try a(value) == value + 1)
                }
                #expect(try connection.query("SELECT count(*)::int AS n FROM pg_prepared_statements").first!.decode("n", as: Int.self) == 3)
                try connection.execute("DEALLOCATE ALL")
                #expect(throws: DatabaseError.self) { try a(7) }
                #expect(try a(7) == 8)
                #expect(try b(7) == 70)
            }
        }
    }

    @Test func errorsCarrySQLStateAndConstraint() throws {
        try TestDatabase.withPool(migrated: false) { pool, _ in
            try pool.withConnection { connection in
                try connection.execute("CREATE TABLE t (id int PRIMARY KEY)")
                try connection.query("INSERT INTO t VALUES (\(1))")
                do {
                    try connection.query("INSERT INTO t VALUES (\(1))")
                    Issue.record("a duplicate key was accepted")
                } catch let error as DatabaseError {
                    #expect(error.isUniqueViolation)
                    #expect(error.sqlState == "23505")
                    #expect(error.constraint == "t_pkey")
                    #expect(error.kind == .query)
                }
                do {
                    try connection.query("SELEC nonsense")
                    Issue.record("a syntax error was accepted")
                } catch let error as DatabaseError {
                    #expect(error.sqlState == "42601")
                }
                // The connection is still usable after errors.
                #expect(try connection.query("SELECT count(*) AS n FROM t").first!.decode("n", as: Int.self) == 1)
            }
        }
    }

    @Test func transactionsCommitOrRollBack() throws {
        try TestDatabase.withPool(migrated: false) { pool, _ in
            try pool.withConnection { try $0.execute("CREATE TABLE t (v int)") }
            try pool.transaction { try $0.query("INSERT INTO t VALUES (\(1))") }
            struct Boom: Error {}
            #expect(throws: Boom.self) {
                try pool.transaction { connection in
                    try connection.query("INSERT INTO t VALUES (\(2))")
                    throw Boom()
                }
            }
            // A nested transaction (savepoint) rolls back alone.
            try pool.transaction { connection in
                try connection.query("INSERT INTO t VALUES (\(3))")
                _ = try? connection.transaction { inner -> Void in
                    try inner.query("INSERT INTO t VALUES (\(4))")
                    throw Boom()
                }
            }
            let values = try pool.query("SELECT v FROM t ORDER BY v").rows.map { try $0.decode("v", as: Int.self) }
            #expect(values == [1, 3])
        }
    }

    @Test func streamsRowsOneAtATime() throws {
        try TestDatabase.withPool(migrated: false) { pool, _ in
            try pool.withConnection { connection in
                var sum = 0
                var seen = 0
                try connection.stream("SELECT g FROM generate_series(1, \(10_000)) AS g") { row in
                    sum += try row.decode("g", as: Int.self)
                    seen += 1
                    return true
                }
                #expect(seen == 10_000)
                #expect(sum == 10_000 * 10_001 / 2)
                // Stopping early leaves the connection usable.
                var taken = 0
                try connection.stream("SELECT g FROM generate_series(1, \(1000)) AS g") { _ in
                    taken += 1
                    return taken < 5
                }
                #expect(taken == 5)
                #expect(try connection.query("SELECT 7 AS x").first!.decode("x", as: Int.self) == 7)
            }
        }
    }

    /// `copyCSV` runs a query with binds through `COPY`: the binds (text with quotes, commas and a line break, a
    /// uuid, a NULL, a binary uuid[]) select the same rows as the query itself; PostgreSQL's CSV comes line by line;
    /// the settings that carry the binds end with the transaction; stopping early or an error in the middle of the
    /// rows leaves the connection usable.
    @Test func copiesQueryRowsAsCSVLines() throws {
        try TestDatabase.withPool(migrated: false) { pool, _ in
            try pool.withConnection { connection in
                let evil = "a \"quoted\", comma\nline'); DROP TABLE x;--"
                let ids = [UUID(), UUID(), UUID()]
                let query: SQLQuery = """
                    SELECT g, \(evil) || g AS text, \(ids[1]) AS id, \(nil as String?)::date AS missing,
                           \(PostgresBinaryArray.uuids(ids))::uuid[] @> ARRAY[\(ids[2])]::uuid[] AS found
                    FROM generate_series(1, \(2_000)) AS g WHERE g % \(7) <> 0 ORDER BY g
                    """
                var lines: [String] = []
                try connection.copyCSV(query) { line in
                    lines.append(String(decoding: line, as: UTF8.self))
                    return true
                }
                let expected = (1...2_000).filter { $0 % 7 != 0 }.map { g in
                    "\(g),\"a \"\"quoted\"\", comma\nline'); DROP TABLE x;--\(g)\",\(ids[1].lowercaseText),,t\n"
                }
                #expect(lines.count == expected.count)
                #expect(lines == expected)
                // The settings were local to the transaction copyCSV opened.
                let setting = try connection.query("SELECT current_setting('copy_bind.p1', true) AS value").first!
                #expect(try setting.decode("value", as: String?.self) ?? "" == "")

                // Stopping after five lines: the rest is dropped, and the next statements run normally.
                var taken = 0
                try connection.copyCSV("SELECT g FROM generate_series(1, \(1_000_000)) AS g") { _ in
                    taken += 1
                    return taken < 5
                }
                #expect(taken == 5)
                #expect(!connection.inTransaction)
                #expect(try connection.query("SELECT 7 AS x, pg_sleep(0.2)::text AS s").first!.decode("x", as: Int.self) == 7)

                // An error after some rows were sent fails the copy with PostgreSQL's error.
                var seen = 0
                let failure = #expect(throws: DatabaseError.self) {
                    try connection.copyCSV("SELECT 1 / (\(5_000) - g) FROM generate_series(1, \(10_000)) AS g") { _ in
                        seen += 1
                        return true
                    }
                }
                #expect(failure?.sqlState == "22012")
                #expect(seen > 0 && seen < 5_000)
                #expect(try connection.query("SELECT 8 AS x").first!.decode("x", as: Int.self) == 8)

                // Inside the caller's transaction, the copy sees its uncommitted rows.
                try connection.transaction { connection in
                    try connection.execute("CREATE TEMP TABLE copied (name text) ON COMMIT DROP")
                    try connection.query("INSERT INTO copied VALUES (\(evil))")
                    var copied: [String] = []
                    try connection.copyCSV("SELECT name FROM copied WHERE name = \(evil)") { line in
                        copied.append(String(decoding: line, as: UTF8.self))
                        return true
                    }
                    #expect(copied == ["\"a \"\"quoted\"\", comma\nline'); DROP TABLE x;--\"\n"])
                }
            }
        }
    }

    @Test func poolAnswersQuicklyWhenTheDatabaseIsUnreachable() throws {
        let pool = ConnectionPool(url: "host=/nonexistent-soot-socket dbname=x user=soot",
                                  configuration: .init(maximumConnections: 2, acquireTimeout: 0.5))
        let start = Date()
        #expect(throws: DatabaseError.self) { try pool.query("SELECT 1") }
        #expect(Date().timeIntervalSince(start) < 2)
        do {
            try pool.query("SELECT 1")
        } catch let error as DatabaseError {
            #expect(error.isUnavailable)
        }
    }

    @Test func poolReusesAndBoundsConnections() throws {
        try TestDatabase.withPool(migrated: false) { _, url in
            let pool = ConnectionPool(url: url, configuration: .init(maximumConnections: 3, acquireTimeout: 5))
            defer { pool.close() }
            DispatchQueue.concurrentPerform(iterations: 40) { _ in
                _ = try? pool.query("SELECT pg_sleep(0.01)")
            }
            #expect(pool.openConnections <= 3)
            let backends = try pool.query("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()")
                .first!.decode("n", as: Int.self)
            #expect(backends <= 3)
        }
    }
}
