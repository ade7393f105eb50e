import Logging
import NIOCore
public import PostgresNIO
import Tutela

/// One PostgreSQL database (or schema) of a store: a pooled client, run for as long as the store is
/// open, and the three ways Tutela uses a connection — one statement, a read-only snapshot, and a
/// write transaction holding the schema's writer lock.
final class PostgresDatabase: Sendable {
    /// The pooled client.
    let client: PostgresClient
    /// The schema the tables live in, quoted (`"tutela"`): its name is checked to be a plain
    /// identifier, so it is safe to put in SQL, and quoted so that a reserved word works too.
    let schema: String
    /// The schema's name, unquoted.
    let name: String
    /// The table every writer locks first (``write(_:_:)``), or nil for none.
    let writerLock: String?
    /// The key of the advisory lock the migrations take (before the tables exist).
    let lock: Int64
    /// The client's run loop, cancelled at ``close()``.
    private let runner: Task<Void, Never>
    /// Logs nothing: a query's bound values may be labels.
    static let logger = Logger(label: "tutela.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    init(configuration: PostgresClient.Configuration, schema: String, writerLock: String?) {
        let client = PostgresClient(configuration: configuration, backgroundLogger: Self.logger)
        self.client = client
        self.schema = "\"\(schema)\""
        self.name = schema
        self.writerLock = writerLock.map { "\"\(schema)\".\($0)" }
        self.lock = Self.lockKey(schema)
        self.runner = Task { await client.run() }
    }

    /// Stops the client: open connections close, queries still waiting fail.
    func close() {
        runner.cancel()
    }

    /// A lock key for `schema`: FNV-1a of its name, so vaults in one database do not wait on each
    /// other.
    static func lockKey(_ schema: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "tutela:\(schema)".utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return Int64(bitPattern: hash)
    }

    /// Runs `body` on one pooled connection outside a transaction: for a single statement.
    func single<T: Sendable>(
        _ what: String, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch { throw PostgresErrors.map(error, doing: what) }
    }

    /// Runs `body` in a read-only snapshot (repeatable read): several statements that see one
    /// committed state, as a read of a record and its slots must.
    func read<T: Sendable>(
        _ what: String, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await single(what) { connection in
            try await connection.fetch(
                "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: Self.logger)
            do {
                let value = try await body(connection)
                try await connection.fetch("COMMIT", logger: Self.logger)
                return value
            } catch {
                try? await connection.fetch("ROLLBACK", logger: Self.logger)
                throw error
            }
        }
    }

    /// Runs `body` as one write transaction, after taking the schema's writer lock (an exclusive
    /// lock on one of its tables, which only a user allowed to write the vault can take; plain
    /// reads of that table go on): every writer of this schema, in any process on any machine,
    /// holds it from its first read to its commit, so writers run one at a time, in one order. The commit is synchronous (`synchronous_commit =
    /// on`, whatever the server's default): when this returns, the write is in the server's log on
    /// disk. A body that throws, or a connection lost before `COMMIT` is answered, rolls it back
    /// and this throws.
    func write<T: Sendable>(
        _ what: String, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await single(what) { connection in
            try await connection.fetch("BEGIN ISOLATION LEVEL READ COMMITTED", logger: Self.logger)
            do {
                // The connection commits synchronously and waits at most 30 s for the lock
                // (PostgresLocation's startup settings), then is told to try again.
                if let writerLock {
                    try await connection.fetch(
                        "LOCK TABLE \(unescaped: writerLock) IN EXCLUSIVE MODE", logger: Self.logger
                    )
                }
                let value = try await body(connection)
                // PostgreSQL answers the COMMIT of a transaction that failed with ROLLBACK, not an
                // error: only a COMMIT answered as one is a write made.
                let done = try await connection.fetch("COMMIT", logger: Self.logger)
                guard done.command == "COMMIT" else {
                    throw TutelaError(
                        .tryAgain, "PostgreSQL rolled the change back; nothing was released",
                        hint: "try again")
                }
                return value
            } catch {
                try? await connection.fetch("ROLLBACK", logger: Self.logger)
                throw error
            }
        }
    }

    /// The migrations applied to the schema; nil when it has not been set up.
    func applied() async throws -> Set<String>? {
        try await single("open the vault") { connection in
            let present = try await connection.fetch(
                "SELECT to_regclass(\(schema + ".migrations")) IS NOT NULL", logger: Self.logger
            ).decode(Bool.self)
            guard present.first == true else { return nil }
            return Set(
                try await connection.fetch(
                    "SELECT name FROM \(unescaped: schema).migrations", logger: Self.logger
                ).decode(String.self))
        }
    }

    /// Applies the migrations the schema lacks; none when it has them all, so a store opened by a
    /// user who may not change the schema opens once it is up to date.
    func migrate(_ migrations: [(name: String, statements: [String])]) async throws {
        if let applied = try await applied(), migrations.allSatisfy({ applied.contains($0.name) }) {
            return
        }
        try await single("set up the vault's tables") { connection in
            try await PostgresSchema.migrate(
                migrations, schema: schema, lock: lock, on: connection, logger: Self.logger)
        }
    }
}

/// Bytes to bind: postgres-nio binds a `ByteBuffer` as `bytea`.
func bytea(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

extension ByteBuffer {
    /// The readable bytes.
    var bytes: [UInt8] { Array(readableBytesView) }
}

/// A query's rows, every one read before the query returns.
///
/// postgres-nio streams rows with back-pressure: a row sequence left half-read (a loop that returns
/// at its first row) keeps its connection waiting, and the next query on that connection — in a
/// transaction, the next statement — would wait for ever. Reading every row first rules that out.
struct Rows {
    let rows: [PostgresRow]
    /// The command the server says it ran (`COMMIT`, or `ROLLBACK` for a commit of a transaction
    /// that had failed).
    let command: String

    /// Every row decoded as `columns`.
    func decode<each Column: PostgresDecodable>(_ columns: (repeat each Column).Type) throws
        -> [(repeat each Column)]
    {
        try rows.map { try $0.decode(columns) }
    }

    /// Whether any row came back (an `INSERT … RETURNING` that inserted).
    var isEmpty: Bool { rows.isEmpty }
}

extension PostgresConnection {
    /// How long one statement may take before its connection is closed and it fails: longer
    /// than the writer lock's wait (30 s), far shorter than a dropped network's TCP timeout.
    static let deadline = TimeAmount.seconds(60)

    /// Runs `query` and reads every row it returns (``Rows``), within ``deadline``.
    ///
    /// A connection the server has closed (its process ended, the network dropped) is refused
    /// before the query is sent, and a query still unanswered at the deadline fails and closes its
    /// connection: postgres-nio hands a query to a closed channel without failing it, and a
    /// dropped network answers nothing, so the caller would otherwise wait for ever. A `COMMIT`
    /// that fails either way releases nothing.
    @discardableResult
    func fetch(_ query: PostgresQuery, logger: Logger = PostgresDatabase.logger) async throws
        -> Rows
    {
        guard !isClosed else { throw PostgresErrors.lost }
        let answer = eventLoop.makePromise(of: PostgresQueryResult.self)
        self.query(query, logger: logger).cascade(to: answer)
        // A promise completed twice keeps its first result: whichever of the two comes first.
        let timer = eventLoop.scheduleTask(in: Self.deadline) {
            answer.fail(PostgresErrors.unanswered)
            let closing: EventLoopFuture<Void> = self.close()
            _ = closing
        }
        defer { timer.cancel() }
        let result = try await answer.futureResult.get()
        return Rows(rows: Array(result.rows), command: result.metadata.command)
    }
}
