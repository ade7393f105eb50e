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
    /// The schema the tables live in; checked to be a plain identifier, so safe to put in SQL.
    let schema: String
    /// The key of the transaction-scoped advisory lock every writer of this schema takes first.
    let lock: Int64
    /// The client's run loop, cancelled at ``close()``.
    private let runner: Task<Void, Never>
    /// Logs nothing: a query's bound values may be labels.
    static let logger = Logger(label: "tutela.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    init(configuration: PostgresClient.Configuration, schema: String) {
        let client = PostgresClient(configuration: configuration, backgroundLogger: Self.logger)
        self.client = client
        self.schema = schema
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

    /// Runs `body` as one write transaction, after taking the schema's writer lock: every writer of
    /// this schema, in any process on any machine, holds it from its first read to its commit, so
    /// writers run one at a time, in one order. The commit is synchronous (`synchronous_commit =
    /// on`, whatever the server's default): when this returns, the write is in the server's log on
    /// disk. A body that throws, or a connection lost before `COMMIT` is answered, rolls it back
    /// and this throws.
    func write<T: Sendable>(
        _ what: String, _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await single(what) { connection in
            try await connection.fetch("BEGIN ISOLATION LEVEL READ COMMITTED", logger: Self.logger)
            do {
                // A writer waits for the lock at most 30 s, then is told to try again.
                try await connection.fetch(
                    """
                    SELECT set_config('synchronous_commit', 'on', true),
                        set_config('lock_timeout', '30s', true), pg_advisory_xact_lock(\(lock))
                    """, logger: Self.logger)
                let value = try await body(connection)
                try await connection.fetch("COMMIT", logger: Self.logger)
                return value
            } catch {
                try? await connection.fetch("ROLLBACK", logger: Self.logger)
                throw error
            }
        }
    }

    /// Whether the schema has been set up (its migrations table exists).
    func exists() async throws -> Bool {
        try await single("open the vault") { connection in
            let rows = try await connection.fetch(
                "SELECT to_regclass(\(schema + ".migrations")) IS NOT NULL", logger: Self.logger)
            for present in try rows.decode(Bool.self) { return present }
            return false
        }
    }

    /// Applies the migrations the schema lacks.
    func migrate(_ migrations: [(name: String, statements: [String])]) async throws {
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
    /// Runs `query` and reads every row it returns (``Rows``).
    ///
    /// A connection the server has closed (its process ended, the network dropped) is refused
    /// before the query is sent: postgres-nio hands a query to a closed channel without failing
    /// it, and the caller would wait for ever — a `COMMIT` after a lost connection must instead
    /// fail, so that nothing is released on a write that was not acknowledged.
    @discardableResult
    func fetch(_ query: PostgresQuery, logger: Logger = PostgresDatabase.logger) async throws
        -> Rows
    {
        guard !isClosed else {
            throw TutelaError(
                .tryAgain,
                "the connection to PostgreSQL was lost; the change was not made and nothing was released",
                hint: "try again; if it keeps happening, check the database server")
        }
        return Rows(rows: try await self.query(query, logger: logger).collect())
    }
}
