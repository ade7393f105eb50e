import Logging
import NIOCore
import PostgresNIO
public import Tutela
public import TutelaCrypto

/// The shared store: one PostgreSQL schema for the vault and another — its own database and
/// credentials in production — for the shred keys, so destroying a key reaches the records'
/// backups (docs/OPERATIONS.md, "PostgreSQL").
///
/// It holds what the embedded store holds, in the same shape (docs/FORMAT.md): labels apart from
/// sealed envelopes and key slots, the two signed chains, sealed identities, facts. No plaintext
/// reaches it. Queries are parameterised; the only text put into SQL is the schema name, checked
/// to be a plain identifier. Writers from every process lock the `vault` table first (`LOCK TABLE
/// … IN EXCLUSIVE MODE`), so they run one at a time (``PostgresDatabase/write(_:_:)``).
public final class PostgresVaultStore: VaultStore {
    /// The vault's database.
    let vault: PostgresDatabase
    /// The key store's database.
    let keys: PostgresDatabase
    /// Where the vault is, for messages (holds no password).
    public let location: PostgresLocation
    /// Where the key store is.
    public let keyLocation: PostgresLocation
    var s: String { vault.schema }
    var logger: Logger { PostgresDatabase.logger }

    /// Opens (or, with `create`, sets up) the vault at `location` and its key store at
    /// `keyStore`, applying any migrations they lack.
    /// - Throws: `.notFound` when there is no vault there and `create` is false; `.tryAgain` when
    ///   the database cannot be reached; `.permissionDenied` when it refuses the user.
    public static func open(
        _ location: PostgresLocation, password: String?, keyStore: PostgresLocation,
        keyStorePassword: String?, create: Bool = false
    ) async throws -> PostgresVaultStore {
        guard
            location.address != keyStore.address || location.schema != keyStore.schema
        else {
            throw TutelaError(
                .usage, "the key store must live apart from the vault",
                hint: "give the key store its own database (best) or at least its own schema")
        }
        try await location.probe(password: password)
        try await keyStore.probe(password: keyStorePassword)
        let store = PostgresVaultStore(
            vault: PostgresDatabase(
                configuration: try location.configuration(password: password),
                schema: location.schema, writerLock: "vault"),
            keys: PostgresDatabase(
                configuration: try keyStore.configuration(password: keyStorePassword),
                schema: keyStore.schema, writerLock: nil),
            location: location, keyLocation: keyStore)
        do {
            try await store.checkApart()
            if !create {
                guard try await store.vault.applied() != nil, try await store.keys.applied() != nil
                else {
                    throw TutelaError(
                        .notFound, "there is no vault at \(location.address)",
                        hint: "check the address, or make one with tutela init --store")
                }
            }
            try await store.vault.migrate(PostgresSchema.vault)
            try await store.keys.migrate(PostgresSchema.keyStore)
            try await store.checkKeyTableOwner()
        } catch {
            await store.close()
            throw error
        }
        return store
    }

    private init(
        vault: PostgresDatabase, keys: PostgresDatabase, location: PostgresLocation,
        keyLocation: PostgresLocation
    ) {
        self.vault = vault
        self.keys = keys
        self.location = location
        self.keyLocation = keyLocation
    }

    /// Refuses a key store that does not live apart from the vault, or whose server would copy
    /// the keys into its own log.
    ///
    /// Apart means its own PostgreSQL user (so that the vault's credentials, and backups taken
    /// with them, never reach a key) and its own schema at least — its own database, best on its
    /// own server with a short backup cycle (docs/OPERATIONS.md). A server set to log changed rows
    /// with their values (`log_statement` of `mod` or `all`, or slow statements with their
    /// parameters) would write every shred key into its log, where no destruction reaches.
    func checkApart() async throws {
        let who = "SELECT current_user::text, current_database()::text"
        let vaultUser = try await vault.single("open the vault") { connection in
            try await connection.fetch(PostgresQuery(unsafeSQL: who)).decode((String, String).self)
        }.first
        let keyUser = try await keys.single("open the key store") { connection in
            try await connection.fetch(PostgresQuery(unsafeSQL: who)).decode((String, String).self)
        }.first
        guard let vaultUser, let keyUser, vaultUser.0 != keyUser.0 else {
            throw TutelaError(
                .usage,
                "the key store signs in as the vault's own PostgreSQL user; it must have its own",
                hint:
                    "create a user for the key store alone, with rights on its database only (docs/OPERATIONS.md)"
            )
        }
        // Checked from the key store's side: the vault's user is no superuser there, no member
        // of the key store's user, and cannot even look into its schema.
        let vaultRights = try await keys.single("open the key store") { connection in
            try await connection.fetch(
                """
                SELECT r.rolsuper, pg_has_role(r.oid, current_user, 'MEMBER'),
                    coalesce(has_schema_privilege(r.oid, n.oid, 'USAGE'), false)
                FROM pg_roles r LEFT JOIN pg_namespace n ON n.nspname = \(keys.name)
                WHERE r.rolname = \(vaultUser.0)
                """
            ).decode((Bool, Bool, Bool).self)
        }.first
        if let (superuser, member, usage) = vaultRights, superuser || member || usage {
            throw TutelaError(
                .usage,
                "the vault's PostgreSQL user \(vaultUser.0) can reach the key store's keys (a superuser, a member of its user, or allowed into its schema)",
                hint:
                    "give the vault a user with no rights on the key store (docs/OPERATIONS.md)")
        }
        let logging = try await keys.single("open the key store") { connection in
            try await connection.fetch(
                """
                SELECT current_setting('log_statement'),
                    current_setting('log_min_duration_statement')::int >= 0
                        OR current_setting('log_min_duration_sample')::int >= 0
                        OR current_setting('log_transaction_sample_rate')::float8 > 0,
                    current_setting('log_parameter_max_length')::int <> 0,
                    current_setting('log_parameter_max_length_on_error')::int <> 0
                """
            ).decode((String, Bool, Bool, Bool).self)
        }.first
        if let (statements, sampled, parameters, onError) = logging,
            ["mod", "all"].contains(statements) || (sampled && parameters) || onError
        {
            throw TutelaError(
                .usage,
                "the key store's server logs statements with their values (log_statement=\(statements), "
                    + "or slow or sampled statements, or failed ones, with their parameters): "
                    + "shred keys would be copied into its log",
                hint:
                    "for the key store's user: ALTER ROLE … SET log_statement = 'none', log_parameter_max_length = 0, log_parameter_max_length_on_error = 0 (docs/OPERATIONS.md)"
            )
        }
    }

    /// Refuses a key store whose user does not own its key table: PostgreSQL would skip the
    /// rewrite that takes deleted keys out of the table's files (`VACUUM FULL`), warning only.
    func checkKeyTableOwner() async throws {
        let owns = try await keys.single("open the key store") { connection in
            try await connection.fetch(
                """
                SELECT pg_get_userbyid(c.relowner) = current_user FROM pg_class c
                WHERE c.oid = to_regclass(\(keys.schema + ".shred_keys"))
                """
            ).decode(Bool.self)
        }
        guard owns.first == true else {
            throw TutelaError(
                .usage, "the key store's user does not own its table of keys",
                hint:
                    "let the key store's user create its schema (the first command does), or make it the owner of shred_keys"
            )
        }
    }

    /// Closes both connection pools. The store answers nothing afterwards.
    public func close() async {
        vault.close()
        keys.close()
    }

    public func meta() async throws -> VaultMeta {
        let meta: VaultMeta? = try await vault.single("read the vault") { connection in
            let rows = try await connection.fetch(
                """
                SELECT vault_id, authority_id, authority_key, kdf, created_at FROM \(unescaped: s).vault
                """, logger: logger)
            for (id, authority, key, kdf, created) in try rows.decode(
                (String, String, ByteBuffer, String, Int64).self)
            {
                return VaultMeta(
                    vaultID: id, authorityID: try Self.storedID(authority),
                    authoritySigningKey: key.bytes, kdfProfile: kdf, createdAt: created)
            }
            return nil
        }
        guard let meta else {
            throw TutelaError(.notFound, "the vault at \(location.address) was never initialised")
        }
        return meta
    }

    public func links(_ chain: ChainName, from: Int64, limit: Int) async throws -> [ChainLink] {
        try await vault.single("read the \(chain.rawValue) log") { connection in
            try await Self.links(
                connection.fetch(
                    """
                    SELECT \(unescaped: Self.linkColumns) FROM \(unescaped: s).\(unescaped: chain.rawValue)
                    WHERE seq >= \(from) ORDER BY seq LIMIT \(Int64(clamping: limit))
                    """, logger: logger))
        }
    }

    public func lastLink(_ chain: ChainName) async throws -> ChainLink? {
        try await vault.single("read the \(chain.rawValue) log") { connection in
            try await Self.lastLink(chain, schema: s, on: connection)
        }
    }

    public func sealedIdentity(_ principal: PrincipalID) async throws -> SealedIdentity? {
        try await vault.single("read keys") { connection in
            try await Self.sealedIdentity(principal, schema: s, on: connection)
        }
    }

    public func record(_ id: RecordID) async throws -> StoredRecord? {
        try await vault.read("read a record") { connection in
            try await Self.record(id, schema: s, on: connection)
        }
    }

    public func labels(learner: LearnerID?) async throws -> [StoredLabel] {
        try await vault.single("read labels") { connection in
            let query: PostgresQuery =
                if let learner {
                    """
                    SELECT id, record, learner, label FROM \(unescaped: s).labels
                    WHERE learner = \(learner.text) ORDER BY id
                    """
                } else {
                    "SELECT id, record, learner, label FROM \(unescaped: s).labels ORDER BY id"
                }
            return try await Self.labels(connection.fetch(query, logger: logger)).labels
        }
    }

    public func labels(author: PrincipalID) async throws -> [StoredLabel] {
        try await vault.single("read labels") { connection in
            try await Self.labels(
                connection.fetch(
                    """
                    SELECT id, record, learner, label FROM \(unescaped: s).labels
                    WHERE author = \(author.text) ORDER BY id
                    """, logger: logger)
            ).labels
        }
    }

    public func label(_ record: RecordID) async throws -> StoredLabel? {
        try await vault.single("read labels") { connection in
            try await Self.labels(
                connection.fetch(
                    """
                    SELECT id, record, learner, label FROM \(unescaped: s).labels
                    WHERE record = \(record.text)
                    """, logger: logger)
            ).labels.first
        }
    }

    /// Pages in row order, the cursor being the next row id in decimal.
    public func labels(from cursor: LabelCursor?, limit: Int) async throws -> (
        labels: [StoredLabel], next: LabelCursor?
    ) {
        guard let start = cursor.map({ Int64($0.position) }) ?? 0 else {
            throw TutelaError(.internal, "a label cursor this store did not make")
        }
        return try await vault.single("read labels") { connection in
            let (labels, last) = try await Self.labels(
                connection.fetch(
                    """
                    SELECT id, record, learner, label FROM \(unescaped: s).labels
                    WHERE id >= \(start) ORDER BY id LIMIT \(Int64(clamping: limit))
                    """, logger: logger))
            return (labels, labels.count < limit ? nil : LabelCursor(String((last ?? start) + 1)))
        }
    }

    public func shares(record: RecordID) async throws -> [StoredShare] {
        try await vault.single("read break-glass shares") { connection in
            try await Self.shares(record: record, schema: s, on: connection)
        }
    }

    public func shares(holder: Recipient, after: RecordID?, limit: Int) async throws
        -> [StoredShare]
    {
        try await vault.single("read break-glass shares") { connection in
            try await Self.shares(
                connection.fetch(
                    """
                    SELECT l.record, h.holder, h.body FROM \(unescaped: s).shares h
                    JOIN \(unescaped: s).labels l ON l.id = h.id
                    WHERE h.holder = \(holder.description) AND h.id > coalesce(
                        (SELECT id FROM \(unescaped: s).labels WHERE record = \(after?.text ?? "")), 0)
                    ORDER BY h.id LIMIT \(Int64(clamping: limit))
                    """, logger: logger))
        }
    }

    public func slots(recipient: Recipient, limit: Int) async throws -> [Slot] {
        try await vault.single("read key slots") { connection in
            try await Self.slots(recipient: recipient, limit: limit, schema: s, on: connection)
        }
    }

    public func boxCount(recipient: Recipient) async throws -> (slots: Int, shares: Int) {
        try await vault.single("count key slots") { connection in
            let rows = try await connection.fetch(
                """
                SELECT (SELECT count(*) FROM \(unescaped: s).slots
                        WHERE recipient = \(recipient.description)),
                    (SELECT count(*) FROM \(unescaped: s).shares
                        WHERE holder = \(recipient.description))
                """, logger: logger)
            for (slots, shares) in try rows.decode((Int64, Int64).self) {
                return (Int(slots), Int(shares))
            }
            return (0, 0)
        }
    }

    public func recordCount() async throws -> Int {
        try await vault.single("count records") { connection in
            let rows = try await connection.fetch(
                """
                SELECT count(*) FROM \(unescaped: s).envelopes e
                JOIN \(unescaped: s).labels l ON l.id = e.id
                """, logger: logger)
            for count in try rows.decode(Int64.self) { return Int(count) }
            return 0
        }
    }

    public func objects(kind: String, key: String?) async throws -> [StoredObject] {
        try await vault.single("read \(kind) records") { connection in
            try await Self.objects(kind: kind, key: key, schema: s, on: connection)
        }
    }

    /// One statement, the keys bound as one array.
    public func objects(kind: String, keys: [String]) async throws -> [StoredObject] {
        try await vault.single("read \(kind) records") { connection in
            try await Self.objects(
                connection.fetch(
                    """
                    SELECT kind, id, key, body FROM \(unescaped: s).objects
                    WHERE kind = \(kind) AND key = ANY(\(Array(Set(keys))))
                    """, logger: logger))
        }
    }

    /// One statement, the ids bound as one array.
    public func objects(kind: String, ids: [String]) async throws -> [StoredObject] {
        try await vault.single("read \(kind) records") { connection in
            try await Self.objects(
                connection.fetch(
                    """
                    SELECT kind, id, key, body FROM \(unescaped: s).objects
                    WHERE kind = \(kind) AND id = ANY(\(Array(Set(ids))))
                    """, logger: logger))
        }
    }

    public func transaction<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> T {
        try await vault.write("write to the vault") { connection in
            let transaction = Transaction(connection: connection, schema: s)
            let value = try await body(transaction)
            try await transaction.flush()
            return value
        }
    }
}
