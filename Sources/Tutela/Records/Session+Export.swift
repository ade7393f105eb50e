import TutelaCrypto

/// A copy of a learner's records for the learner or their family.
public struct LearnerCopy: Sendable {
    /// Who the copy is for.
    public let recipient: CopyRecipient
    /// The records in it, opened.
    public let records: [OpenedRecord]
    /// What was left out and why, for the member of staff who made the copy: never put in the
    /// copy, and empty when a learner or parent made it for themselves (nothing may tell them).
    public let leftOut: [(record: RecordID, reason: String)]
}

extension Session {
    /// A copy of `learner`'s records for `recipient` (by default the maker, if they are the learner
    /// or a parent; staff must say): every record both the maker may open and the policy lets the
    /// recipient read, each audited. Flagged records are never in a copy, and the copy carries no
    /// trace that anything was left out; the audit log records what was.
    /// - Throws: `.usage` when staff do not say who the copy is for.
    public func export(learner: LearnerID, for recipient: CopyRecipient? = nil) async throws
        -> LearnerCopy
    {
        guard let recipient = recipient ?? CopyRecipient.implied(by: principal) else {
            throw TutelaError.usage(
                "say who the copy of \(learner)'s records is for",
                hint: "--for learner, or --for parents-carers")
        }
        if let mine = CopyRecipient.implied(by: principal), mine != recipient {
            throw TutelaError.denied(
                "'\(principal.id)' makes copies only for themselves (\(mine.rawValue))")
        }
        do {
            let learner = directory.resolve(learner)
            return try await decidingAfresh {
                try await exportOnce(learner: learner, for: recipient)
            }
        } catch let error as TutelaError where error.kind == .tampered && principal.isFamily {
            // A learner or parent told of tampering is not told what did not match (a flag, a
            // void on a record hidden from them).
            throw TutelaError(
                .tampered, "the vault's records do not match its audit log",
                hint: AuditLog.restoreHint)
        }
    }

    private func exportOnce(learner: LearnerID, for recipient: CopyRecipient) async throws
        -> LearnerCopy
    {
        let policy = try policy()
        let (directory, principal) = (self.directory, self.principal)
        var opened: [OpenedRecord] = []
        var leftOut: [(record: RecordID, reason: String)] = []
        // Every label filed under the learner, as the vault's state counts and chains them: a
        // label row moved to another learner is not quietly left out.
        let store = self.store
        let rows = try await verifiedRead {
            let rows = try await store.labels(learner: learner)
            var claims = StateClaims()
            try claims.addFiled(rows, under: .learner(learner))
            return (rows, claims)
        }
        for row in rows {
            // Each record goes through the release pipeline on its own, so a record flagged a
            // moment ago is decided on, and left out, in the transaction that would record it.
            let released = try await release(row.record, action: .export) {
                input, tx -> ReleaseVerdict<Slot> in
                let label = input.envelope.label
                // The row was filed under this learner; its signed envelope must say so too.
                guard label.learner == learner else {
                    throw TutelaError.tampered(
                        "the label row of \(label.record) is filed under \(learner), but its "
                            + "signed envelope is about \(label.learner)")
                }
                let copy = policy.decideCopy(for: recipient, label: label, state: input.state)
                guard copy.allowed else { return .skip(reason: copy.rule) }
                let decision = policy.decide(
                    .open, actor: principal, label: label, state: input.state,
                    directory: directory)
                guard decision.allowed else {
                    return .skip(reason: "you may not open it: \(decision.rule)")
                }
                if let reason = try await Self.notCopied(label, tx: tx, directory: directory) {
                    return .skip(reason: reason)
                }
                guard
                    let slot = input.stored.slots.first(where: {
                        $0.recipient == .person(principal.id)
                    })
                else {
                    return .skip(
                        reason: "it has no key for you yet (someone who can open it runs "
                            + "'tutela policy regrant --record \(label.record)')")
                }
                return .release(reason: "copy for \(recipient.rawValue)", grant: slot)
            } open: { envelope, slot in
                OpenedRecord(envelope, content: try await decrypt(envelope, slot: slot))
            }
            switch released {
            case .released(let record, _): opened.append(record)
            case .skipped(let reason): leftOut.append((row.record, reason))
            case .missing:
                // Destroyed records keep only their label and certificate: nothing to export. A
                // label with neither contents nor a certificate was cut out of the vault.
                guard try await retention.tombstone(row.record) != nil else {
                    throw TutelaError.tampered(
                        "\(row.record) has a label but no contents and no destruction certificate")
                }
            }
        }
        if !leftOut.isEmpty {
            // The log says what the copy left out and why; the copy, and a family maker, are
            // never told.
            let entries = leftOut.map {
                auditEntry(
                    .export, subject: $0.record.text, outcome: .denied,
                    reason: "left out of a copy for \(recipient.rawValue): \($0.reason)")
            }
            let identity = self.identity
            try await write { tx in
                for entry in entries {
                    try await Session.appendAudit(entry, tx: tx, signer: identity)
                }
            }
        }
        return LearnerCopy(
            recipient: recipient, records: opened,
            leftOut: principal.isFamily || directory.isFamily(principal.id, of: learner)
                ? [] : leftOut)
    }

    /// Why a record the recipient may read is still not copied, or nil: it is void (sealed by
    /// mistake, about another learner perhaps), or an addendum to a record that is void or was
    /// destroyed — a copy never mentions a record it leaves out.
    static func notCopied(_ label: Label, tx: any VaultTransaction, directory: Directory)
        async throws -> String?
    {
        for void in try await facts(
            VoidStatement.self, about: label.record.text, tx: tx, directory: directory)
        {
            try void.check(label: label, directory: directory)
            return "it is void (sealed by mistake): \(void.reason)"
        }
        guard let original = label.amends else { return nil }
        let read = try await tx.record(original)
        try await StateTransaction.of(tx).verify(read, id: original)
        guard let stored = read else {
            return "it is an addendum to \(original), which was destroyed"
        }
        let originalLabel = try verifiedEnvelope(stored, id: original, directory: directory).label
        for void in try await facts(
            VoidStatement.self, about: original.text, tx: tx, directory: directory)
        {
            try void.check(label: originalLabel, directory: directory)
            return "it is an addendum to \(original), which is void"
        }
        return nil
    }
}
