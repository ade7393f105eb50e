import Logging
import PostgresNIO
import Tutela

/// The PostgreSQL store's schema: each migration is a list of statements, applied once, in order,
/// under an advisory lock (the tables may not exist yet), and recorded in `migrations`. Schema
/// changes go here as a new migration; docs/FORMAT.md describes the tables.
///
/// Text columns that Tutela orders by are `COLLATE "C"`: byte order, as SQLite compares, whatever
/// the database's locale (a locale's order would change which id comes first).
enum PostgresSchema {
    /// The vault's migrations, `{S}` standing for the schema.
    static let vault: [(name: String, statements: [String])] = [
        (
            "v1",
            [
                """
                CREATE TABLE {S}.vault (
                    id integer PRIMARY KEY CHECK (id = 1), vault_id text NOT NULL,
                    authority_id text NOT NULL, authority_key bytea NOT NULL, kdf text NOT NULL,
                    created_at bigint NOT NULL)
                """,
                """
                CREATE TABLE {S}.directory (
                    seq bigint PRIMARY KEY CHECK (seq >= 0), prev_hash bytea NOT NULL,
                    signer text NOT NULL, body bytea NOT NULL, signature bytea NOT NULL,
                    hash bytea NOT NULL)
                """,
                """
                CREATE TABLE {S}.audit (
                    seq bigint PRIMARY KEY CHECK (seq >= 0), prev_hash bytea NOT NULL,
                    signer text NOT NULL, body bytea NOT NULL, signature bytea NOT NULL,
                    hash bytea NOT NULL)
                """,
                """
                CREATE TABLE {S}.identities (
                    principal text COLLATE "C" PRIMARY KEY, signing_key bytea NOT NULL,
                    agreement_key bytea NOT NULL, salt bytea NOT NULL, ops bigint NOT NULL,
                    mem bigint NOT NULL, nonce bytea NOT NULL, ciphertext bytea NOT NULL)
                """,
                """
                CREATE TABLE {S}.labels (
                    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    record text COLLATE "C" NOT NULL UNIQUE, learner text COLLATE "C" NOT NULL,
                    author text COLLATE "C" NOT NULL, label bytea NOT NULL)
                """,
                "CREATE INDEX labels_by_learner ON {S}.labels (learner, id)",
                "CREATE INDEX labels_by_author ON {S}.labels (author, id)",
                """
                CREATE TABLE {S}.envelopes (
                    id bigint PRIMARY KEY REFERENCES {S}.labels (id), body bytea NOT NULL)
                """,
                """
                CREATE TABLE {S}.slots (
                    id bigint NOT NULL REFERENCES {S}.labels (id),
                    recipient text COLLATE "C" NOT NULL, box bytea NOT NULL,
                    PRIMARY KEY (id, recipient))
                """,
                "CREATE INDEX slots_by_recipient ON {S}.slots (recipient, id)",
                """
                CREATE TABLE {S}.shares (
                    id bigint NOT NULL REFERENCES {S}.labels (id), holder text COLLATE "C" NOT NULL,
                    body bytea NOT NULL, PRIMARY KEY (id, holder))
                """,
                "CREATE INDEX shares_by_holder ON {S}.shares (holder, id)",
                """
                CREATE TABLE {S}.objects (
                    kind text COLLATE "C" NOT NULL, id text COLLATE "C" NOT NULL,
                    key text COLLATE "C" NOT NULL, body bytea NOT NULL, PRIMARY KEY (kind, id))
                """,
                "CREATE INDEX objects_by_key ON {S}.objects (kind, key, id)",
            ]
        )
    ]

    /// The key store's migrations: shred keys only.
    static let keyStore: [(name: String, statements: [String])] = [
        (
            "v1",
            [
                """
                CREATE TABLE {S}.shred_keys (
                    record text COLLATE "C" PRIMARY KEY, key bytea NOT NULL)
                """
            ]
        )
    ]

    /// Applies the migrations `schema` lacks, on one connection, in one transaction holding the
    /// schema's advisory lock (so two processes starting at once do not both apply one).
    static func migrate(
        _ migrations: [(name: String, statements: [String])], schema: String, lock: Int64,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.fetch("BEGIN", logger: logger)
        do {
            try await connection.fetch("SELECT pg_advisory_xact_lock(\(lock))", logger: logger)
            try await connection.fetch(
                "CREATE SCHEMA IF NOT EXISTS \(unescaped: schema)", logger: logger)
            try await connection.fetch(
                """
                CREATE TABLE IF NOT EXISTS \(unescaped: schema).migrations (
                    name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
            var applied: Set<String> = []
            for name in try await connection.fetch(
                "SELECT name FROM \(unescaped: schema).migrations", logger: logger
            ).decode(String.self) {
                applied.insert(name)
            }
            for migration in migrations where !applied.contains(migration.name) {
                for statement in migration.statements {
                    let sql = statement.replacingOccurrences(of: "{S}", with: schema)
                    try await connection.fetch(PostgresQuery(unsafeSQL: sql), logger: logger)
                }
                try await connection.fetch(
                    "INSERT INTO \(unescaped: schema).migrations (name) VALUES (\(migration.name))",
                    logger: logger)
            }
            try await connection.fetch("COMMIT", logger: logger)
        } catch {
            try? await connection.fetch("ROLLBACK", logger: logger)
            throw error
        }
    }
}
