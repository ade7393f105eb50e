/// The one release pipeline: every path that hands out a record's plaintext — open, export,
/// disclosure, break-glass open — goes through ``Session/release(_:action:decide:)``.
///
/// In one store transaction it **reads** the record, **verifies** its envelope and the facts its
/// state rests on, asks the path to **decide** from those verified values (and any facts it reads
/// in the same transaction), and **audits** the decision — allowed or refused — with whatever the
/// path records beside it (a review item, a break-glass use, notices). Only when that transaction
/// is durable does the path **release**: it opens the verified envelope with its grant (a slot, a
/// group slot, the approvals) while this machine's pin moves on a thread of its own; the pin is
/// awaited by ``Session/settle()`` before the command or request completes. A refusal is audited
/// and thrown in one place; a store that cannot write releases nothing (75).

/// What a release path sees when it decides: verified values, read in the deciding transaction.
struct ReleaseInput: Sendable {
    /// The record as stored, with its slots.
    let stored: StoredRecord
    /// The envelope, its author's signature verified.
    let envelope: Envelope
    /// Whether the record is flagged or has an open break-glass request, from verified facts.
    let state: RecordState
    /// The time of the decision, in seconds since 1970 UTC.
    let now: Int64
}

/// A release path's decision about one record.
enum ReleaseVerdict<Grant: Sendable>: Sendable {
    /// Release: audited as allowed for `reason`, with `objects` written and `notify` told, in the
    /// same transaction; `grant` is what the path needs to decrypt.
    case release(
        reason: String, grant: Grant, objects: [StoredObject] = [], notify: Set<PrincipalID> = [])
    /// Refuse (77): audited against the record as denied for `rule`.
    case refuse(rule: String, message: String, hint: String? = nil)
    /// Release nothing and audit nothing for the record itself: it is left out of a copy, for
    /// `reason` (which the path may record elsewhere, never in the copy).
    case skip(reason: String)
}

/// What the deciding transaction found of a record's corrections: its void statement (not yet
/// checked against its label) and the addenda linked to it. Read there, with the rest, so that an
/// opening costs no further proof.
struct FoundCorrections: Sendable {
    var void: VoidStatement?
    var addenda: [RecordID] = []
}

/// What the pipeline hands back to its path.
enum Released<T: Sendable>: Sendable {
    /// Durably audited and opened.
    case released(T, FoundCorrections)
    /// Skipped by the path's own decision, for `reason`.
    case skipped(reason: String)
    /// The record has no contents (destroyed, or never there); nothing was written.
    case missing
}

extension Session {
    /// Runs the release pipeline for `recordID` (see the top of this file).
    /// - Parameters:
    ///   - action: the audit action of the release and of its refusal.
    ///   - decide: the path's decision from verified values; it may read more facts through `tx`.
    ///   - open: the release itself, run only after the decision is durably audited.
    /// - Returns: what `open` made, or why nothing was released.
    /// - Throws: `.permissionDenied` for a refusal (audited), `.tampered` for a record or fact that
    ///   fails verification, `.tryAgain` when the audit entry cannot be written.
    func release<Grant: Sendable, T: Sendable>(
        _ recordID: RecordID, action: AuditEntry.Action,
        decide:
            @escaping @Sendable (ReleaseInput, any VaultTransaction) async throws ->
            ReleaseVerdict<Grant>,
        open: (Envelope, Grant) async throws -> T
    ) async throws -> Released<T> {
        let (directory, principal, identity) = (self.directory, self.principal, self.identity)
        let policyVersion = self.policyVersion
        let now = vault.clock.now()
        @Sendable func entry(_ outcome: AuditEntry.Outcome, _ subject: String, _ reason: String)
            -> AuditEntry
        {
            AuditEntry(
                action: action, actor: principal.id, subject: subject, outcome: outcome,
                reason: reason, time: now, policyVersion: policyVersion)
        }
        let (outcome, head) = try await auditedTransaction { tx throws -> ReleaseOutcome<Grant> in
            try await StateTransaction.of(tx).prefetch(record: recordID, facts: Self.releaseFacts)
            let read = try await tx.record(recordID)
            // The envelope's signatures are checked on a thread of their own while the state
            // proves its rows on this one; both hold before anything is decided.
            let checked = read.map { stored in
                Started { try Self.verifiedEnvelope(stored, id: recordID, directory: directory) }
            }
            try await StateTransaction.of(tx).verify(read, id: recordID)
            guard let stored = read, let checked else { return .missing }
            let envelope = try await checked.value
            let state = try await Self.recordState(
                envelope.label, tx: tx, directory: directory, now: now)
            // A learner or parent asking for a record whose label they may not see (flagged, or
            // not theirs) is answered as for a record that does not exist, word for word, on every
            // path; a copy leaves it out without a word (its path skips it).
            let concealed =
                action != .export
                && directory.policy?.conceals(envelope.label, from: principal, directory: directory)
                    == true
            if concealed, let policy = directory.policy {
                let view = policy.decide(
                    .viewLabel, actor: principal, label: envelope.label, state: state,
                    directory: directory)
                if !view.allowed {
                    try await Self.appendAudit(
                        entry(.denied, recordID.text, view.rule), tx: tx, signer: identity)
                    return .refused(Self.noRecord(recordID))
                }
                // A record sealed by mistake may be about another learner: a learner or parent is
                // never shown it, as if it did not exist — nor an addendum to one, or to a record
                // destroyed. Each void is checked against its label first: one written into the
                // database by someone who could not void the record is tampering, never a reason
                // to hide it.
                if try await Self.notCopied(envelope.label, tx: tx, directory: directory) != nil {
                    try await Self.appendAudit(
                        entry(
                            .denied, recordID.text,
                            "void, or an addendum to a void or destroyed record: not shown to a "
                                + "learner or family"),
                        tx: tx, signer: identity)
                    return .refused(Self.noRecord(recordID))
                }
            }
            let input = ReleaseInput(stored: stored, envelope: envelope, state: state, now: now)
            switch try await decide(input, tx) {
            case .skip(let reason):
                return .skipped(reason: reason)
            case .refuse(let rule, let message, let hint):
                try await Self.appendAudit(
                    entry(.denied, recordID.text, rule), tx: tx, signer: identity)
                return .refused(TutelaError.denied(message, hint: hint))
            case .release(let reason, let grant, let objects, let notify):
                for object in objects { try await tx.put(object) }
                try await Self.appendAudit(
                    entry(.allowed, recordID.text, reason), tx: tx, signer: identity,
                    notify: notify.subtracting(directory.family(of: envelope.label.learner)))
                // A learner's or parent's release has just found the record not void.
                let found = FoundCorrections(
                    void: concealed
                        ? nil
                        : try await Self.facts(
                            VoidStatement.self, about: recordID.text, tx: tx, directory: directory
                        ).first,
                    addenda: try await Self.facts(
                        AddendumLink.self, about: recordID.text, tx: tx, directory: directory
                    ).map(\.addendum))
                return .released(envelope, grant, found)
            }
        }
        switch outcome {
        case .missing: return .missing
        case .skipped(let reason): return .skipped(reason: reason)
        case .refused(let error):
            try auditedPin(head)
            throw error
        case .released(let envelope, let grant, let found):
            // The audit entry is durable: the record may be released now. This machine's pin of
            // the log's head is saved on a thread of its own, overlapping the decryption, and is
            // awaited by settle(), which every command and request calls before it completes.
            let pinned = Started { [self] in try auditedPin(head) }
            let value: T
            do { value = try await open(envelope, grant) } catch {
                try await pinned.value
                throw error
            }
            keepPin(pinned)
            return .released(value, found)
        }
    }

    /// The facts about a record that every release reads: whether it is flagged or has a
    /// break-glass request open, and whether it is void or has addenda.
    static let releaseFacts: [FactKind] = [.flag, .breakGlassRequest, .void, .addendumLink]

    /// Explains a release of a record that has no contents, audited: destroyed (with when and by
    /// whom) or never there. Throws `.notFound`; `.tampered` for a record whose label is filed
    /// but whose contents are gone with no destruction certificate (deleted outside Tutela).
    func missing(_ recordID: RecordID, action: AuditEntry.Action) async throws -> Never {
        // The label row, proven: none for a record never there, the certified one for a record
        // destroyed; a filed label with neither contents nor certificate is tampering.
        let kept = try await retention.provenLabelRow(recordID)
        // A learner or family is not told that a record was destroyed, whatever other role they
        // hold: it may have been flagged.
        if let row = kept.first,
            try !directory.conceals(Label.parse(row.labelBytes), from: principal),
            let certificate = try await retention.tombstone(recordID)
        {
            try await audit(action, subject: recordID.text, outcome: .notFound, reason: "destroyed")
            throw TutelaError.notFound(
                "\(recordID) was destroyed on \(Timestamp.iso(certificate.time)) by \(certificate.authoriser)",
                hint: "its label and destruction certificate remain; its contents are gone")
        }
        try await audit(action, subject: recordID.text, outcome: .notFound, reason: nil)
        throw Self.noRecord(recordID)
    }

    /// What anyone is told of a record id with nothing behind it, and what a learner or parent is
    /// told of a record they may not know of: the same words.
    static func noRecord(_ id: RecordID) -> TutelaError {
        TutelaError.notFound("there is no record \(id)")
    }

    /// For a learner or parent, a record whose label they may not see (a flagged record, one the
    /// policy does not let them read) does not exist: they get ``noRecord(_:)``, and the log says
    /// why.
    func concealFromFamily(_ label: Label, action: AuditEntry.Action) async throws {
        guard let policy = directory.policy,
            policy.conceals(label, from: principal, directory: directory)
        else { return }
        let state = try await recordState(of: label)
        let view = policy.decide(
            .viewLabel, actor: principal, label: label, state: state, directory: directory)
        guard !view.allowed else { return }
        try await audit(action, subject: label.record.text, outcome: .denied, reason: view.rule)
        throw Self.noRecord(label.record)
    }
}

/// What the deciding transaction found, before anything is opened.
private enum ReleaseOutcome<Grant: Sendable>: Sendable {
    case released(Envelope, Grant, FoundCorrections)
    case refused(TutelaError)
    case skipped(reason: String)
    case missing
}
