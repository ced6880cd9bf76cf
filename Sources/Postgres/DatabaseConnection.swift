import CLibPQ
import Foundation
import Logging
import Synchronization

/// How connections reach PostgreSQL. `session`: directly, or through a pooler that gives each client a server
/// connection for the whole session; statements run often are prepared once per connection and reused.
/// `transaction`: through a pooler that may hand every transaction to another server connection (pgbouncer's
/// `pool_mode = transaction`); nothing a connection leaves behind may outlive its transaction, so every statement
/// is sent unnamed (parse, bind and execute in one round trip) and no session setting is made but the time zone and
/// date style, which pgbouncer carries from server connection to server connection itself.
public enum DatabasePooling: String, Sendable, CaseIterable {
    case session, transaction

    private static let current = Atomic<Bool>(false)

    /// The mode of this process's connections; set once at start, before the first connection opens.
    public static var mode: DatabasePooling {
        get { current.load(ordering: .relaxed) ? .transaction : .session }
        set { current.store(newValue == .transaction, ordering: .relaxed) }
    }
}

/// One libpq connection. It owns its `PGconn` and frees it exactly once; it is used by one thread at a time
/// (the pool hands it out exclusively).
public final class DatabaseConnection: @unchecked Sendable {
    // Safety: a connection is only ever used by the one thread that checked it out of the pool.
    private var handle: OpaquePointer?
    private var prepared: [String: String] = [:]
    /// The statement run last and its name: a batch writer runs one long statement over and over, and comparing
    /// a String with the one it was made from is a pointer check, where the dictionary would hash all its text.
    private var lastPrepared: (sql: String, name: String)?
    private var nextStatement = 0
    /// How this connection reaches PostgreSQL (`transaction`: every statement is sent unnamed).
    public let pooling: DatabasePooling
    private var namesStatements: Bool { pooling == .session }
    private var transactionDepth = 0
    public let url: String
    /// When the pool last handed this connection back (seconds since the epoch).
    var idleSince: Double = 0

    /// Connects with a libpq connection string or URL (`postgresql://user@host/db`, `host=/tmp dbname=x`).
    /// `pooling`: how it reaches PostgreSQL (the process's mode unless said otherwise).
    public init(url: String, pooling: DatabasePooling = DatabasePooling.mode) throws(DatabaseError) {
        self.url = url
        self.pooling = pooling
        guard let connection = PQconnectdb(url) else {
            throw DatabaseError(.unavailable, message: "could not allocate a connection")
        }
        handle = connection
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = DatabaseConnection.trimmed(PQerrorMessage(connection))
            PQfinish(connection)
            handle = nil
            throw DatabaseError(.unavailable, message: "could not connect to the database", detail: message)
        }
        _ = try execute("SET TIME ZONE 'UTC'; SET DateStyle = 'ISO'; SET client_min_messages = 'warning'")
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// True while the socket is usable (false after the server went away, or after an error that leaves the
    /// session suspect: see `mustReconnect`).
    public var isHealthy: Bool {
        guard let handle, !mustReconnect else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// Set after the server refused for a reason of its own (full disk, read-only, out of memory): the session
    /// may keep state from that spell (a read-only transaction default, a backend short of memory), so the pool
    /// and the ingest writers replace the connection rather than reuse it, and Soot recovers by itself.
    public private(set) var mustReconnect = false

    /// Whether the connection still works: a non-blocking read of what the server sent while it sat idle, and
    /// after `pingAfter` idle seconds a round trip. False when the server closed it (a restart or crash), so the
    /// pool replaces it instead of losing a statement on it.
    public func probe(pingAfter: Double = 1) -> Bool {
        guard let handle else { return false }
        if PQconsumeInput(handle) == 0 { return false }
        guard PQstatus(handle) == CONNECTION_OK, PQisBusy(handle) == 0 else { return false }
        if Date().timeIntervalSince1970 - idleSince > pingAfter {
            guard let result = PQexec(handle, "SELECT 1") else { return false }
            defer { PQclear(result) }
            return PQresultStatus(result) == PGRES_TUPLES_OK
        }
        return true
    }

    /// Whether a transaction is open (also after an error inside one).
    public var inTransaction: Bool {
        guard let handle else { return false }
        return PQtransactionStatus(handle) != PQTRANS_IDLE
    }

    /// Closes the connection now (idempotent).
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
        prepared = [:]
        lastPrepared = nil
    }

    /// Runs one statement with binds. Statements run often are prepared once per connection and reused.
    @discardableResult
    public func query(_ query: SQLQuery) throws(DatabaseError) -> QueryResult {
        guard let handle else { throw DatabaseError(.unavailable, message: "the connection is closed") }
        let result: OpaquePointer?
        if let name = lastPrepared.flatMap({ $0.sql == query.sql ? $0.name : nil }) ?? prepared[query.sql] {
            lastPrepared = (query.sql, name)
            result = Self.withParameters(query.binds) { count, values, lengths, formats in
                PQexecPrepared(handle, name, count, values, lengths, formats, 0)
            }
        } else if namesStatements && prepared.count < 512 {
            nextStatement += 1
            let name = "s\(nextStatement)"
            let preparation = PQprepare(handle, name, query.sql, Int32(query.binds.count), nil)
            try check(preparation, sql: query.sql)
            PQclear(preparation)
            prepared[query.sql] = name
            lastPrepared = (query.sql, name)
            result = Self.withParameters(query.binds) { count, values, lengths, formats in
                PQexecPrepared(handle, name, count, values, lengths, formats, 0)
            }
        } else {
            result = Self.withParameters(query.binds) { count, values, lengths, formats in
                PQexecParams(handle, query.sql, count, nil, values, lengths, formats, 0)
            }
        }
        try check(result, sql: query.sql)
        return QueryResult(result!)
    }

    /// Runs SQL text without binds; several statements separated by `;` are allowed (migrations).
    @discardableResult
    public func execute(_ sql: String) throws(DatabaseError) -> QueryResult {
        guard let handle else { throw DatabaseError(.unavailable, message: "the connection is closed") }
        let result = PQexec(handle, sql)
        try check(result, sql: String(sql.prefix(200)))
        return QueryResult(result!)
    }

    /// Runs `body` in a transaction: committed if it returns, rolled back if it throws. Nested calls use
    /// savepoints.
    @discardableResult
    public func transaction<T>(_ body: (DatabaseConnection) throws -> T) throws -> T {
        let savepoint = transactionDepth > 0 ? "sp\(transactionDepth)" : nil
        try execute(savepoint.map { "SAVEPOINT \($0)" } ?? "BEGIN")
        transactionDepth += 1
        do {
            let value = try body(self)
            transactionDepth -= 1
            try execute(savepoint.map { "RELEASE SAVEPOINT \($0)" } ?? "COMMIT")
            return value
        } catch {
            transactionDepth -= 1
            if isHealthy {
                _ = try? execute(savepoint.map { "ROLLBACK TO SAVEPOINT \($0)" } ?? "ROLLBACK")
            }
            throw error
        }
    }

    /// Streams the rows of a query one at a time (libpq single-row mode) without holding them all in memory.
    /// `body` returns false to stop early (the rest is then read and dropped).
    public func stream(_ query: SQLQuery, _ body: (Row) throws -> Bool) throws {
        try streamResults(query) { result in try body(Row(result: QueryResult(result), index: 0)) }
    }

    /// Like `stream`, without decoding column names or copying cells: each cell's bytes are read in place, valid only
    /// during the call. For exports of millions of rows.
    public func streamRaw(_ query: SQLQuery, _ body: (RawRow) throws -> Bool) throws {
        try streamResults(query) { result in
            defer { PQclear(result) }
            return try body(RawRow(result: result, row: 0))
        }
    }

    /// Streams `query`'s rows as CSV lines from `COPY (query) TO STDOUT (FORMAT csv)`: one line per call, ending in
    /// LF, valid only during the call. libpq hands over each line as it arrives, with no result object per row, so
    /// this is the cheap way to read millions of rows. `body` returns false to stop early (the statement is then
    /// cancelled and the rest dropped). Runs in the caller's transaction, or in its own.
    ///
    /// `COPY` takes no bind parameters, so the binds stay out of the statement's text all the same: each is set as a
    /// transaction-local setting (`set_config('copy_bind.pN', $1::text, true)`, itself a parameterised statement, with
    /// the parameter's type as PostgreSQL infers it for `query`), and `$N` becomes
    /// `(SELECT CAST(current_setting('copy_bind.pN') AS type))::type`. A NULL bind becomes `CAST(NULL AS type)`.
    public func copyCSV(_ query: SQLQuery, _ body: (UnsafeBufferPointer<UInt8>) throws -> Bool) throws {
        guard let handle else { throw DatabaseError(.unavailable, message: "the connection is closed") }
        guard inTransaction else { return try transaction { try $0.copyCSV(query, body) } }
        let sql = query.binds.isEmpty ? query.sql : try bindsAsSettings(query)
        let started = PQexec(handle, "COPY (\(sql)) TO STDOUT (FORMAT csv)")
        if PQresultStatus(started) != PGRES_COPY_OUT { try check(started, sql: sql) }
        PQclear(started)
        var wanted = true
        var failure: Error?
        var line: UnsafeMutablePointer<CChar>?
        while true {
            let length = PQgetCopyData(handle, &line, 0)
            if length > 0, let line {
                defer { PQfreemem(line) }
                guard wanted && failure == nil else { continue }
                do {
                    wanted = try body(UnsafeBufferPointer(start: UnsafeRawPointer(line).assumingMemoryBound(to: UInt8.self), count: Int(length)))
                } catch {
                    failure = error
                }
                if !wanted || failure != nil, let cancel = PQgetCancel(handle) {
                    var message = [CChar](repeating: 0, count: 256)
                    _ = PQcancel(cancel, &message, Int32(message.count))
                    PQfreeCancel(cancel)
                }
            } else if length == -1 {
                break
            } else {
                failure = failure ?? DatabaseError(.unavailable, message: "the copy failed", detail: Self.trimmed(PQerrorMessage(handle)))
                break
            }
        }
        // The statement's own result follows the data: an error here (other than the cancel we asked for) fails it.
        while let result = PQgetResult(handle) {
            let status = PQresultStatus(result)
            if status == PGRES_COMMAND_OK || (wanted == false && failure == nil) {
                PQclear(result)
            } else {
                do { try check(result, sql: sql) } catch { failure = failure ?? error }
            }
        }
        if let failure { throw failure }
    }

    /// `query`'s SQL with each `$N` replaced by its transaction-local setting (see `copyCSV`), the settings set.
    private func bindsAsSettings(_ query: SQLQuery) throws -> String {
        guard let handle else { throw DatabaseError(.unavailable, message: "the connection is closed") }
        let prepared = PQprepare(handle, "", query.sql, Int32(query.binds.count), nil)
        try check(prepared, sql: query.sql)
        PQclear(prepared)
        guard let described = PQdescribePrepared(handle, "") else { try check(nil, sql: query.sql); return "" }
        try check(described, sql: query.sql)
        let types = (0..<PQnparams(described)).map { PQparamtype(described, $0) }
        PQclear(described)
        let names: [String] = try self.query("""
            SELECT format_type(u.t, NULL) AS name FROM unnest(\(types.map { Int($0) })::oid[]) WITH ORDINALITY AS u(t, n) ORDER BY u.n
            """).rows.map { try $0.decode("name") }
        guard names.count == query.binds.count else {
            throw DatabaseError(.query, message: "the statement has \(names.count) parameters for \(query.binds.count) binds")
        }
        var replacements: [String] = []
        var settings: [String] = []
        var setBinds: [BindValue] = []
        var setTypes: [Oid] = []
        for (index, bind) in query.binds.enumerated() {
            if case .text(nil) = bind {
                replacements.append("CAST(NULL AS \(names[index]))")
                continue
            }
            let name = "copy_bind.p\(index + 1)"
            setBinds.append(bind)
            setTypes.append(types[index])
            settings.append("set_config('\(name)', $\(setBinds.count)::text, true)")
            // A scalar subquery, so PostgreSQL reads and casts the setting once (an InitPlan) rather than per row,
            // and the cast outside it, so the value is an expression (`= ANY(...)` takes an array, not a subquery).
            replacements.append("(SELECT CAST(current_setting('\(name)') AS \(names[index])))::\(names[index])")
        }
        if !settings.isEmpty {
            let statement = "SELECT " + settings.joined(separator: ", ")
            let result = setTypes.withUnsafeBufferPointer { typePointer in
                Self.withParameters(setBinds) { count, values, lengths, formats in
                    PQexecParams(handle, statement, count, typePointer.baseAddress, values, lengths, formats, 0)
                }
            }
            try check(result, sql: statement)
            PQclear(result)
        }
        return SQLQuery.replacingBinds(query.sql) { replacements[$0 - 1] }
    }

    /// Sends `query` in single-row mode and hands each one-row result to `body`, which owns (frees) it.
    private func streamResults(_ query: SQLQuery, _ body: (OpaquePointer) throws -> Bool) throws {
        guard let handle else { throw DatabaseError(.unavailable, message: "the connection is closed") }
        let sent = Self.withParameters(query.binds) { count, values, lengths, formats in
            PQsendQueryParams(handle, query.sql, count, nil, values, lengths, formats, 0)
        }
        guard sent == 1 else {
            throw DatabaseError(.unavailable, message: "could not send the query", detail: Self.trimmed(PQerrorMessage(handle)))
        }
        PQsetSingleRowMode(handle)
        var wanted = true
        var failure: Error?
        while let result = PQgetResult(handle) {
            let status = PQresultStatus(result)
            if status == PGRES_SINGLE_TUPLE {
                if wanted && failure == nil {
                    do { wanted = try body(result) } catch { failure = error }
                } else {
                    PQclear(result)
                }
            } else if status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK {
                PQclear(result)
            } else {
                do { try check(result, sql: query.sql) } catch { failure = failure ?? error }
            }
        }
        if let failure { throw failure }
    }

    private func check(_ result: OpaquePointer?, sql: String) throws(DatabaseError) {
        guard let result else {
            let message = handle.map { Self.trimmed(PQerrorMessage($0)) } ?? "no connection"
            throw DatabaseError(.unavailable, message: "the database did not answer", detail: message)
        }
        let status = PQresultStatus(result)
        if status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_SINGLE_TUPLE { return }
        func field(_ code: Int32) -> String? {
            guard let value = PQresultErrorField(result, code) else { return nil }
            return String(cString: value)
        }
        let sqlState = field(Int32(UInt8(ascii: "C")))
        let primary = field(Int32(UInt8(ascii: "M"))) ?? handle.map { Self.trimmed(PQerrorMessage($0)) } ?? "query failed"
        let detail = field(Int32(UInt8(ascii: "D")))
        let constraint = field(Int32(UInt8(ascii: "n")))
        PQclear(result)
        let broken = handle.map { PQstatus($0) != CONNECTION_OK } ?? true
        if broken { prepared = [:]; lastPrepared = nil }
        // No SQLSTATE means libpq itself failed (the socket closed under us): the server is unavailable.
        let kind: DatabaseError.Kind = broken || sqlState == nil || (sqlState?.hasPrefix("08") ?? false) || sqlState?.hasPrefix("57P") == true
            ? .unavailable : .query
        // A failed PREPARE leaves nothing cached; a prepared statement may have been invalidated by DDL.
        if sqlState == "26000" || sqlState == "0A000" { prepared = [:]; lastPrepared = nil }
        if let sqlState, DatabaseError.isServerTrouble(sqlState) { mustReconnect = true }
        throw DatabaseError(kind, sqlState: sqlState, message: primary,
                            detail: [detail, "statement: \(sql.prefix(300))"].compactMap { $0 }.joined(separator: "; "),
                            constraint: constraint)
    }

    static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "" }
        return String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Calls `body` with libpq's parameter arrays: the count, the values (NUL-terminated text, raw bytes for
    /// binary binds, NULL pointers for SQL NULL), and lengths and formats (both nil when every bind is text).
    static func withParameters<R>(
        _ binds: [BindValue],
        _ body: (Int32, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> R
    ) -> R {
        if binds.isEmpty { return body(0, nil, nil, nil) }
        var binary = false
        var pointers: [UnsafeMutablePointer<CChar>?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        pointers.reserveCapacity(binds.count)
        lengths.reserveCapacity(binds.count)
        formats.reserveCapacity(binds.count)
        for bind in binds {
            switch bind {
            case .text(let text):
                pointers.append(text.map { strdup($0) } ?? nil)
                lengths.append(0)
                formats.append(0)
            case .binary(let bytes):
                let copy = UnsafeMutablePointer<CChar>.allocate(capacity: max(1, bytes.count))
                bytes.withUnsafeBytes { raw in
                    if let base = raw.baseAddress { UnsafeMutableRawPointer(copy).copyMemory(from: base, byteCount: bytes.count) }
                }
                pointers.append(copy)
                lengths.append(Int32(bytes.count))
                formats.append(1)
                binary = true
            }
        }
        defer {
            for (pointer, bind) in zip(pointers, binds) {
                if case .binary = bind { pointer?.deallocate() } else { free(pointer) }
            }
        }
        return pointers.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) { values in
                guard binary else { return body(Int32(binds.count), values, nil, nil) }
                return lengths.withUnsafeBufferPointer { lengthPointer in
                    formats.withUnsafeBufferPointer { formatPointer in
                        body(Int32(binds.count), values, lengthPointer.baseAddress, formatPointer.baseAddress)
                    }
                }
            }
        }
    }
}
