import TutelaCrypto

/// What every concern shares: the state a decision reads, audited writes with their notices, and
/// refusals.
extension Session {
    // MARK: - State

    /// Whether `record` is flagged (by a valid, signed flag) and has an open break-glass request, read
    /// inside a transaction (as `open` does, so its audit entry records the state it decided on).
    static func recordState(
        _ record: String, tx: any VaultTransaction, directory: Directory, now: Int64
    ) async throws -> RecordState {
        var state = RecordState()
        state.flagged = try await !facts(
            SafeguardingFlag.self, about: record, tx: tx, directory: directory
        ).isEmpty
        for request in try await facts(
            BreakGlassRequest.self, about: record, tx: tx, directory: directory)
        where request.expires > now {
            if try await facts(BreakGlassUse.self, about: request.id, tx: tx, directory: directory)
                .isEmpty
            {
                state.breakGlassOpen = true
            }
        }
        return state
    }

    /// The same, read outside a transaction.
    func recordState(_ record: String) async throws -> RecordState {
        var state = RecordState()
        state.flagged = try await flag(record) != nil
        let now = vault.clock.now()
        for request in try await facts(BreakGlassRequest.self, about: record)
        where request.expires > now {
            if try await fact(BreakGlassUse.self, about: request.id) == nil {
                state.breakGlassOpen = true
            }
        }
        return state
    }

    func flag(_ record: String) async throws -> SafeguardingFlag? {
        try await fact(SafeguardingFlag.self, about: record)
    }

    func auditEntry(
        _ action: AuditEntry.Action, subject: String?, outcome: AuditEntry.Outcome = .allowed,
        reason: String?
    ) -> AuditEntry {
        AuditEntry(
            action: action, actor: principal.id, subject: subject, outcome: outcome, reason: reason,
            time: vault.clock.now(), policyVersion: policyVersion)
    }

    static func requireReason(_ reason: String, for what: String) throws(TutelaError) -> String {
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else {
            throw .usage("a reason is required to \(what)", hint: "pass --reason TEXT")
        }
        guard trimmed.count <= 2000,
            !trimmed.unicodeScalars.contains(where: {
                $0.properties.generalCategory == .control && $0 != "\n"
            })
        else { throw .usage("the reason must be at most 2000 characters of ordinary text") }
        return trimmed
    }

    /// Notice rows pointing `recipients` at audit entry `sequence`.
    static func notices(_ recipients: Set<String>, sequence: Int64) -> [StoredObject] {
        recipients.sorted().map { r in
            var w = CanonicalWriter()
            w.i64(sequence)
            return StoredObject(
                kind: ObjectKind.notice, id: "\(r)/\(String(format: "%012lld", sequence))", key: r,
                body: w.bytes)
        }
    }

    /// Appends `entry` and notices it to `recipients` (not to the actor), with `objects`, in one
    /// transaction. Returns nothing until it is durable.
    func record(
        _ entry: AuditEntry, notify recipients: Set<String>, objects: [StoredObject] = []
    ) async throws {
        let identity = self.identity
        let notify = recipients.subtracting([principal.id])
        try await auditedWrite { tx in
            for o in objects { try await tx.put(o) }
            try await Self.appendAudit(entry, tx: tx, signer: identity)
            guard let link = try await tx.lastLink(.audit) else {
                throw TutelaError.internal("no audit head")
            }
            for n in Self.notices(notify, sequence: link.sequence) { try await tx.put(n) }
        }
    }

    var headsOfCentre: Set<String> { Set(directory.holders(of: .headOfCentre).map(\.id)) }

    /// Refuses with 77 and an audit entry.
    func refuse(_ action: AuditEntry.Action, _ subject: String, _ message: String) async throws
        -> Never
    {
        try await audit(action, subject: subject, outcome: .denied, reason: message)
        throw TutelaError.denied(message)
    }
}
