import Synchronization
import TutelaCrypto

/// What every concern shares: the state a decision reads, audited writes with their notices, and
/// refusals.
extension Session {
    // MARK: - State

    /// Whether `record` is flagged (by a valid, signed flag) and has an open break-glass request, read
    /// inside a transaction (as `open` does, so its audit entry records the state it decided on).
    /// A flag counts only if the policy in force when it was made let its signer flag the record
    /// (``SafeguardingFlag/check(label:directory:)``).
    static func recordState(
        _ label: Label, tx: any VaultTransaction, directory: Directory, now: Int64
    ) async throws -> RecordState {
        let record = label.record
        var state = RecordState()
        // An addendum is flagged with the record it amends: its learner or parent must never see
        // it while the record is hidden from them, whatever became of its own flag.
        for subject in label.flagSubjects {
            for flag in try await facts(
                SafeguardingFlag.self, about: subject.text, tx: tx, directory: directory)
            {
                try flag.check(label: label, directory: directory)
                state.flagged = true
            }
        }
        for request in try await facts(
            BreakGlassRequest.self, about: record.text, tx: tx, directory: directory)
        where request.expires > now {
            if try await facts(
                BreakGlassUse.self, about: request.id.text, tx: tx, directory: directory
            )
            .isEmpty {
                state.breakGlassOpen = true
            }
        }
        return state
    }

    /// The same, read outside a transaction.
    func recordState(of label: Label) async throws -> RecordState {
        let record = label.record
        var state = RecordState()
        for subject in label.flagSubjects {
            if let flag = try await flag(subject) {
                // The addendum's label stands for its original's: the same class, learner, author
                // and copies, so the same people could flag either.
                try flag.check(label: label, directory: directory)
                state.flagged = true
            }
        }
        let now = vault.clock.now()
        for request in try await facts(BreakGlassRequest.self, about: record.text)
        where request.expires > now {
            if try await fact(BreakGlassUse.self, about: request.id.text) == nil {
                state.breakGlassOpen = true
            }
        }
        return state
    }

    func flag(_ record: RecordID) async throws -> SafeguardingFlag? {
        try await fact(SafeguardingFlag.self, about: record.text)
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
        guard
            !trimmed.unicodeScalars.contains(where: {
                $0.properties.generalCategory == .control && $0 != "\n"
            })
        else { throw .usage("the reason must be ordinary text, without control characters") }
        // Bytes, not characters: the signed facts that keep a reason read at most 2,000 bytes of
        // it, and one character can take many (an accent, another script, a run of marks).
        guard trimmed.utf8.count <= maximumReasonBytes else {
            throw .usage(
                "the reason is too long: keep it under 2,000 letters (accented letters and other "
                    + "scripts count as two or more)")
        }
        return trimmed
    }

    /// The longest reason a person may give, in UTF-8 bytes: what every fact holding one reads.
    static let maximumReasonBytes = 2000

    /// Refuses an entry whose reason no reader of the log would accept: written, it would make
    /// the log read as damaged.
    static func requireReadable(_ entry: AuditEntry) throws(TutelaError) {
        guard (entry.reason?.utf8.count ?? 0) <= AuditEntry.maximumReasonBytes else {
            throw .usage(
                "what would be recorded is too long for the audit log; nothing was written "
                    + "(shorten the reason)")
        }
    }

    /// Notice rows pointing `recipients` at audit entry `sequence`.
    static func notices(_ recipients: Set<PrincipalID>, sequence: Int64) -> [StoredObject] {
        recipients.sorted().map { r in
            var w = CanonicalWriter()
            w.i64(sequence)
            return StoredObject(
                kind: ObjectKind.notice, id: "\(r)/\(String(format: "%012lld", sequence))",
                key: r.text,
                body: w.bytes)
        }
    }

    /// Appends `entry` and notices it to `recipients` (not to the actor), with `objects`, in one
    /// transaction. Returns nothing until it is durable.
    func record(
        _ entry: AuditEntry, notify recipients: Set<PrincipalID>, objects: [StoredObject] = []
    ) async throws {
        let identity = self.identity
        try await auditedWrite { tx in
            for o in objects { try await tx.put(o) }
            try await Self.appendAudit(entry, tx: tx, signer: identity, notify: recipients)
        }
    }

    /// The learner's assigned tutor, told when their tutee's record is opened through the
    /// safeguarding path — only when the policy lets them see its label in `state` (not, say, for
    /// a confidential tutorial only its author and the learner read), and while they hold the role.
    func assignedTutor(of label: Label, in state: RecordState) -> Set<PrincipalID> {
        guard let id = directory.learners[label.learner]?.tutor,
            let tutor = directory.principals[id], tutor.has(.tutor),
            let policy = directory.policy,
            policy.decide(
                .viewLabel, actor: tutor, label: label, state: state, directory: directory
            )
            .allowed
        else { return [] }
        return [id]
    }

    var headsOfCentre: Set<PrincipalID> { Set(directory.holders(of: .headOfCentre).map(\.id)) }

    /// Refuses with 77 and an audit entry.
    func refuse(_ action: AuditEntry.Action, _ subject: String, _ message: String) async throws
        -> Never
    {
        try await audit(action, subject: subject, outcome: .denied, reason: message)
        throw TutelaError.denied(message)
    }
}

/// Durable writes: every transaction of a session, the audit entry that must be durable before
/// anything is released, and this machine's pin of the log's head.
extension Session {
    /// Writes one audit entry as its own durable transaction; fails closed.
    func audit(
        _ action: AuditEntry.Action, subject: String?, outcome: AuditEntry.Outcome, reason: String?
    ) async throws {
        let entry = AuditEntry(
            action: action, actor: principal.id, subject: subject, outcome: outcome, reason: reason,
            time: vault.clock.now(), policyVersion: policyVersion)
        let identity = self.identity
        try await auditedWrite { tx in try await Self.appendAudit(entry, tx: tx, signer: identity) }
    }

    /// A write whose audit entry must be durable before anything is released: fails closed, turning
    /// a store failure into "nothing was released" (75).
    func auditedWrite<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> T {
        do { return try await write(body) } catch let error as TutelaError {
            throw Self.auditFailure(error)
        }
    }

    /// ``auditedWrite(_:)`` without moving the pin: the caller passes the head to
    /// ``auditedPin(_:)`` and releases nothing before that returns.
    func auditedTransaction<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> (T, ChainLink?) {
        do { return try await transaction(body) } catch let error as TutelaError {
            throw Self.auditFailure(error)
        }
    }

    /// ``movePin(to:)``, failing as an audit entry that could not be written.
    func auditedPin(_ head: ChainLink?) throws {
        do { try movePin(to: head) } catch let error as TutelaError {
            throw Self.auditFailure(error)
        }
    }

    /// A failure to make the audit entry durable: nothing was released.
    static func auditFailure(_ error: TutelaError) -> TutelaError {
        guard error.kind == .tryAgain || error.kind == .internal else { return error }
        return TutelaError.tryAgain(
            "the audit entry could not be written, so nothing was released: \(error.message)",
            hint: error.hint ?? "try again in a moment")
    }

    /// Appends `entry`, signed, after the log's last entry — refusing an entry earlier than that
    /// one (a clock behind the vault's, or set back to act "before" something), unless it is an
    /// administrator's clock correction. Notices the entry to `notify` (less its signer).
    /// - Returns: the link appended.
    @discardableResult
    static func appendAudit(
        _ entry: AuditEntry, tx: any VaultTransaction, signer: Identity,
        notify: Set<PrincipalID> = []
    ) async throws -> ChainLink {
        try requireReadable(entry)
        let last = try await tx.lastLink(.audit)
        var entry = entry
        if let last, entry.action != .clockCorrect {
            let previous = try AuditEntry.parse(last.body, context: "audit entry \(last.sequence)")
            if entry.time < previous.time {
                // An entry stamped when its command began, committed after another command's
                // (it waited for the write lock), is stamped with that entry's time: it happened
                // no earlier. A clock further behind than a command can wait is refused.
                guard previous.time - entry.time <= AuditLog.writeWait else {
                    throw AuditLog.clockBehind(now: entry.time, last: previous.time)
                }
                entry = entry.stamped(previous.time)
            }
        }
        try await StateTransaction.of(tx).seal(&entry, at: (last?.sequence ?? -1) + 1)
        let link = try SignedChain.link(
            .audit, after: last, body: entry.canonical, signer: signer)
        try await tx.append(link, to: .audit)
        for n in notices(notify.subtracting([entry.actor]), sequence: link.sequence) {
            try await tx.put(n)
        }
        return link
    }

    /// Runs a transaction, then moves this machine's pin to the new audit head.
    func write<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> T {
        let (result, head) = try await transaction(body)
        try movePin(to: head)
        return result
    }

    /// Runs a transaction; returns its result and the audit head after it, for ``movePin(to:)``.
    ///
    /// The directory is checked in the same transaction: if it moved since this session verified
    /// it (a revocation, say), the session catches up first — refusing, if this person was revoked
    /// — and the transaction runs again. A session unlocked before someone was revoked writes
    /// nothing after it. Inside ``decidingAfresh(_:)`` — every public operation that decides
    /// anything: a release, a seal, a flag, a hold, a proposal, a grant, a directory statement —
    /// the whole operation runs again instead, so what it decided rests on the directory and
    /// policy now. Elsewhere (a refusal's audit entry, which decides nothing) the transaction's
    /// body runs again.
    func transaction<T: Sendable>(
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> (T, ChainLink?) {
        for attempt in 0..<2 {
            let directory = self.directory
            try requireCurrentKey(directory)
            // Inside ``decidingAfresh(_:)``, the directory the operation decided under — not the
            // session's now, which another operation of this session may have moved meanwhile.
            let known = Self.decidedUnder.map(\.head) ?? directory.head?.hash
            do {
                let (result, head) = try await StateTransaction.run(
                    store, directory: directory, cache: stateCache
                ) { tx in
                    let head = try await tx.lastLink(.directory)
                    if attempt == 0 {
                        guard head?.hash == known else { throw DirectoryMoved() }
                    }
                    guard
                        Vault.directory(
                            head, matches: try await StateTransaction.of(tx).committed())
                    else { throw Vault.directoryMismatch }
                    return await (try body(tx), try tx.lastLink(.audit))
                }
                if let head { try stateCache.see(head) }
                return (result, head)
            } catch is DirectoryMoved {
                try await refresh()
                if Self.decidedUnder != nil { throw DirectoryChanged() }
            } catch let error as TutelaError {
                throw error
            } catch {
                throw TutelaError.tryAgain("the vault could not record this; nothing was changed")
            }
        }
        throw TutelaError.tryAgain("the directory kept changing; nothing was changed")
    }

    /// Refuses a session whose key the directory retired (this person re-keyed since it was
    /// unlocked): what it signed would not count, and would read as tampering.
    func requireCurrentKey(_ directory: Directory) throws(TutelaError) {
        // An activation in progress: the statement it appends publishes this session's key, which
        // no one else holds (a session with a retired key is never one).
        if activating, directory.invitations[principal.id] != nil,
            directory.principals[principal.id]?.keyPeriods.contains(where: {
                $0.signingKey == identity.publicIdentity.signingKey
            }) != true
        {
            return
        }
        guard let me = directory.principals[principal.id], !me.revoked, !me.awaitingKeys,
            me.identity == identity.publicIdentity
        else {
            throw .denied(
                "this session's key for '\(principal.id)' was replaced by a re-key",
                hint: "unlock again with the new passphrase")
        }
    }

    /// Thrown inside a transaction whose directory moved since the session verified it.
    private struct DirectoryMoved: Error {}

    /// Thrown out of a transaction, inside ``decidingAfresh(_:)``, once the session caught up with
    /// a directory that moved: the operation runs again from its start.
    struct DirectoryChanged: Error {}

    /// The directory (its head) the running operation decides under, inside
    /// ``decidingAfresh(_:)``: its transactions store what it decided only while the directory is
    /// still that one.
    @TaskLocal static var decidedUnder: DecidedUnder?

    /// The head of the directory an operation decided under (none before the first statement);
    /// moved on by the operation's own directory statements, which it decided.
    final class DecidedUnder: Sendable {
        private let current: Mutex<[UInt8]?>

        init(head: [UInt8]?) { current = Mutex(head) }

        var head: [UInt8]? { current.withLock { $0 } }

        /// The operation appended a statement: the directory it decides under is now `head`.
        func moved(to head: [UInt8]) { current.withLock { $0 = head } }
    }

    /// Runs `operation`; if a transaction of it finds the directory moved since this session
    /// verified it — a narrowed policy, a changed role, a revocation — the session catches up
    /// (refusing, if this person was revoked) and `operation` runs once more from its start, so
    /// every decision it makes rests on the directory as it is now. Nothing of the first run was
    /// written.
    func decidingAfresh<T: Sendable>(_ operation: () async throws -> T) async throws -> T {
        try await decidingAfresh(first: operation, again: operation)
    }

    /// ``decidingAfresh(_:)`` for an operation whose first run was decided before it began (an
    /// import's batch, sealed in memory while the one before it was written): `first` stores what
    /// was decided then; if the directory moved, `again` decides and stores it anew.
    /// `firstDecidedUnder` is the directory head `first` was decided under (the session's now,
    /// if not given).
    func decidingAfresh<T: Sendable>(
        first: () async throws -> T, again: () async throws -> T,
        firstDecidedUnder: DecidedUnder? = nil
    ) async throws -> T {
        let firstUnder = firstDecidedUnder ?? DecidedUnder(head: directory.head?.hash)
        do {
            return try await Self.$decidedUnder.withValue(firstUnder) { try await first() }
        } catch is DirectoryChanged {
            let now = DecidedUnder(head: directory.head?.hash)
            return try await Self.$decidedUnder.withValue(now) {
                do { return try await again() } catch is DirectoryChanged {
                    throw TutelaError.tryAgain(
                        "the directory kept changing while this ran; what it had not stored yet "
                            + "was not stored, and nothing was released")
                }
            }
        }
    }

    /// Moves this machine's pin forward to `head` (the audit log's last entry).
    func movePin(to head: ChainLink?) throws {
        guard let head else { return }
        try vault.pins?.save(
            HeadPin(entries: head.sequence + 1, head: Hex.encode(head.hash)),
            vaultID: meta.vaultID,
            replacing: false)
    }
}
