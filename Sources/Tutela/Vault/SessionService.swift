import TutelaCrypto

/// One concern's operations (records, safeguarding, break-glass, retention, lifecycle,
/// administration) over an unlocked ``Session``.
///
/// A service holds nothing but its session: everything it decides from — the person, their keys,
/// the verified directory, the policy — and the shared machinery every concern uses — the release
/// pipeline, audited writes, signed facts — are the session's, reached through the members below.
/// A concern reaches another only through that concern's service.
protocol SessionService: Sendable {
    /// The unlocked person this service acts for.
    var session: Session { get }
}

extension SessionService {
    var principal: Principal { session.principal }
    var directory: Directory { session.directory }
    var identity: Identity { session.identity }
    var vault: Vault { session.vault }
    var store: any VaultStore { session.store }
    var meta: VaultMeta { session.meta }
    var policyVersion: String { session.policyVersion }
    var headsOfCentre: Set<PrincipalID> { session.headsOfCentre }

    func policy() throws(TutelaError) -> Policy { try session.policy() }

    func sign<F: Fact>(_ fact: F) throws(TutelaError) -> StoredObject { try session.sign(fact) }

    func fact<F: Fact>(_ type: F.Type, about subject: String) async throws -> F? {
        try await session.fact(type, about: subject)
    }

    func facts<F: Fact>(_ type: F.Type, about subject: String?) async throws -> [F] {
        try await session.facts(type, about: subject)
    }

    func audit(
        _ action: AuditEntry.Action, subject: String?, outcome: AuditEntry.Outcome, reason: String?
    ) async throws {
        try await session.audit(action, subject: subject, outcome: outcome, reason: reason)
    }

    func auditEntry(
        _ action: AuditEntry.Action, subject: String?, outcome: AuditEntry.Outcome = .allowed,
        reason: String?
    ) -> AuditEntry {
        session.auditEntry(action, subject: subject, outcome: outcome, reason: reason)
    }

    func refuse(_ action: AuditEntry.Action, _ subject: String, _ message: String) async throws
        -> Never
    {
        try await session.refuse(action, subject, message)
    }

    func record(
        _ entry: AuditEntry, notify recipients: Set<PrincipalID>, objects: [StoredObject] = []
    ) async throws {
        try await session.record(entry, notify: recipients, objects: objects)
    }

    func recordState(of label: Label) async throws -> RecordState {
        try await session.recordState(of: label)
    }

    func load(
        _ recordID: RecordID, for action: AuditEntry.Action = .open, concealing: Bool = true
    ) async throws -> (StoredRecord, Envelope) {
        try await session.load(recordID, for: action, concealing: concealing)
    }

    func write<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> T {
        try await session.write(body)
    }

    func transaction<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> (T, ChainLink?) {
        try await session.transaction(body)
    }

    func groupKey(_ role: Role) async throws -> KeyAgreementPrivateKey {
        try await session.groupKey(role)
    }

    func confirmDataKey(_ key: SecretBytes, of envelope: Envelope) async throws {
        try await session.confirmDataKey(key, of: envelope)
    }

    func decrypt(_ envelope: Envelope, dataKey: SecretBytes) async throws -> RecordContent {
        try await session.decrypt(envelope, dataKey: dataKey)
    }

    func release<Grant: Sendable, T: Sendable>(
        _ recordID: RecordID, action: AuditEntry.Action,
        decide:
            @escaping @Sendable (ReleaseInput, any VaultTransaction) async throws ->
            ReleaseVerdict<Grant>,
        open: (Envelope, Grant) async throws -> T
    ) async throws -> Released<T> {
        try await session.release(recordID, action: action, decide: decide, open: open)
    }

    func missing(_ recordID: RecordID, action: AuditEntry.Action) async throws -> Never {
        try await session.missing(recordID, action: action)
    }

    func requireAdministrator(_ what: String) throws(TutelaError) {
        try session.requireAdministrator(what)
    }

    func appendStatement(
        _ statement: DirectoryStatement, audit action: AuditEntry.Action, subject: String,
        reason: String? = nil, auditSigner: Identity? = nil,
        extra: @escaping @Sendable (any VaultTransaction) async throws -> Void = { _ in }
    ) async throws {
        try await session.appendStatement(
            statement, audit: action, subject: subject, reason: reason, auditSigner: auditSigner,
            extra: extra)
    }
}
