/// Correcting records without rewriting history: an author's signed addendum beside a record, and
/// a record sealed by mistake marked void. Nothing here changes or deletes a sealed record.
public struct Corrections: SessionService {
    package let session: Session

    // MARK: - Addenda

    /// Seals `text` as an addendum to `recordID`, dated today: a new record for the same learner,
    /// of the same class and copies, so the same people read it, its label naming the record it
    /// amends. Only the record's author adds to it (as on paper, the writer initials their own
    /// amendment), while the policy lets them open it and write records of its class. An
    /// addendum to a flagged record is flagged with it, in the same transaction.
    /// - Returns: the addendum's label.
    /// - Throws: `.notFound` (66) for no such record, or a destroyed one; `.permissionDenied`
    ///   (77, audited) for anyone but its author, or when the policy refuses; `.usage` (64) for a
    ///   void record or an addendum to an addendum; `.invalidInput` (65) for bad text.
    public func addendum(to recordID: RecordID, text: String) async throws -> Label {
        try await session.decidingAfresh {
            let policy = try policy()
            let (_, envelope) = try await load(recordID, for: .addendum)
            let original = envelope.label
            // Who asks first, audited: nothing about the record is told to anyone else.
            guard original.author == principal.id else {
                try await refuse(
                    .addendum, recordID.text, "only the author of \(recordID) adds to it")
            }
            let content = try Addendum(
                learner: original.learner, date: vault.clock.today, text: text)
            guard original.amends == nil else {
                throw TutelaError.usage(
                    "\(recordID) is itself an addendum (to \(original.amends?.text ?? ""))",
                    hint: "add to the original record instead")
            }
            if let void = try await voidStatement(of: original) {
                throw TutelaError.usage(
                    "\(recordID) is void (\(void.reason)); nothing is added to a void record",
                    hint: "seal a new record instead")
            }
            let state = try await recordState(of: original)
            let open = policy.decide(
                .open, actor: principal, label: original, state: state, directory: directory)
            guard open.allowed else {
                try await refuse(
                    .addendum, recordID.text,
                    "'\(principal.id)' may no longer open \(recordID), so may not add to it: \(open.rule)"
                )
            }
            // Flagged: the addendum goes to the officers' groups and is flagged too, or is not
            // sealed — a learner or parent must never see an addendum to a record hidden from them.
            var groups: [GroupKey] = []
            if state.flagged {
                let rules = try policy.rules(for: original.recordClass)
                for role in rules.safeguarding.openFlagged.map(\.value) {
                    guard let group = try directory.groupToSealTo(role) else {
                        throw TutelaError.notFound(
                            "\(recordID) is flagged and the \(role.rawValue) group has no key, so "
                                + "its addendum could not be opened by the officers")
                    }
                    groups.append(group)
                }
                guard
                    policy.decide(
                        .flag, actor: principal, label: original, state: RecordState(),
                        directory: directory
                    ).allowed
                else {
                    try await refuse(
                        .addendum, recordID.text,
                        "\(recordID) is flagged, and '\(principal.id)' may not flag its addendum")
                }
            }
            var prepared = try await session.prepareSeal(
                [(.addendum(content), original.recordClass)], amending: original, groups: groups)
            guard let label = prepared.labels.first else {
                throw TutelaError.internal("no addendum was sealed")
            }
            prepared.leadObjects.append(
                try sign(
                    AddendumLink(record: recordID, addendum: label.record, author: principal.id)))
            if state.flagged {
                let reason = "addendum to the flagged record \(recordID)"
                let flag = SafeguardingFlag(
                    record: label.record, flaggedBy: principal.id, time: vault.clock.now(),
                    reason: reason, decidedAt: directory.statementCount)
                let officers = Set(groups.flatMap { directory.holders(of: $0.role).map(\.id) })
                prepared.followUps.append(
                    (
                        [try sign(flag)],
                        auditEntry(.flag, subject: label.record.text, reason: reason),
                        officers.subtracting(
                            directory.family(of: label.learner).union([principal.id]))
                    ))
            }
            // Decided on the record as it was: if it was flagged, voided or destroyed meanwhile,
            // nothing is stored and the command runs again.
            let flagged = state.flagged
            prepared.recheck = { tx in
                let now = try await tx.record(recordID)
                try await StateTransaction.of(tx).verify(now, id: recordID)
                let flags = try await tx.objects(
                    kind: FactKind.flag.rawValue, key: recordID.text)
                let voids = try await tx.objects(
                    kind: FactKind.void.rawValue, key: recordID.text)
                try await StateTransaction.of(tx).verify(
                    flags, kind: .flag, subject: recordID.text)
                try await StateTransaction.of(tx).verify(
                    voids, kind: .void, subject: recordID.text)
                guard now != nil, voids.isEmpty, flags.isEmpty != flagged else {
                    throw TutelaError.tryAgain(
                        "\(recordID) changed while its addendum was sealed (flagged, voided or "
                            + "destroyed); nothing was stored",
                        hint: "run the command again: it decides afresh")
                }
            }
            _ = try await session.commitSeal(prepared)
            return label
        }
    }

    /// The addenda to `original` the reader may see, oldest first. Each must be by the original's
    /// author, about its learner, of its class and copies: one that is not was never sealed by
    /// Tutela, and is tampering.
    /// Destroyed addenda are left out (their labels remain in `records list`).
    public func addenda(of original: Label) async throws -> [Label] {
        let policy = try policy()
        var visible: [Label] = []
        for link in try await facts(AddendumLink.self, about: original.record.text) {
            guard let stored = try await session.verifiedRecord(link.addendum) else { continue }
            let label = try Session.verifiedEnvelope(
                stored, id: link.addendum, directory: directory
            ).label
            guard label.amends == original.record, link.author == original.author,
                label.author == original.author, label.learner == original.learner,
                label.recordClass == original.recordClass, label.copies == original.copies
            else {
                throw TutelaError.tampered(
                    "\(label.record) says it amends \(original.record) but does not match it")
            }
            let state = try await recordState(of: label)
            guard
                policy.decide(
                    .viewLabel, actor: principal, label: label, state: state, directory: directory
                ).allowed
            else { continue }
            visible.append(label)
        }
        return visible.sorted {
            ($0.created, $0.record.text) < ($1.created, $1.record.text)
        }
    }

    // MARK: - Void

    /// Marks `recordID` void: sealed by mistake. Signed, with the reason, and audited; the record
    /// is kept (readable by the same staff; never shown to a learner or family) until its
    /// retention ends, shown as void. Its author may void it, or a head of centre; the author is
    /// told when someone else does.
    /// - Throws: `.exists` (73) when it is void already; `.permissionDenied` (77, audited) for
    ///   anyone else; `.notFound` (66) for no such record, or a destroyed one.
    @discardableResult
    public func void(_ recordID: RecordID, reason: String) async throws -> VoidStatement {
        try await session.decidingAfresh {
            let reason = try Session.requireReason(reason, for: "void a record")
            let (_, envelope) = try await load(recordID, for: .void)
            let label = envelope.label
            guard VoidStatement.may(principal, void: label) else {
                try await refuse(
                    .void, recordID.text,
                    "only the author of \(recordID), or a head of centre, may void it")
            }
            // A head of centre who is the learner's parent or carer does not void their own
            // child's record (which would take it from the family's view): others do
            // (Policy/Family.swift).
            if directory.isFamily(principal.id, of: label.learner) {
                try await refuse(.void, recordID.text, Policy.familyStep(principal, label).rule)
            }
            if let existing = try await voidStatement(of: label) {
                throw Self.alreadyVoid(existing)
            }
            let statement = VoidStatement(
                record: recordID, voidedBy: principal.id, time: vault.clock.now(), reason: reason,
                decidedAt: directory.statementCount)
            let object = try sign(statement)
            let entry = auditEntry(.void, subject: recordID.text, reason: reason)
            let identity = self.identity
            let notify = Set([label.author]).subtracting([principal.id])
            try await session.write { tx in
                // Checked again where it is written, against the vault's state: two voids at once
                // make one, never a replaced reason, and a record destroyed meanwhile is not voided.
                let state = try StateTransaction.of(tx)
                let existing = try await tx.objects(
                    kind: FactKind.void.rawValue, key: recordID.text)
                try await state.verify(existing, kind: .void, subject: recordID.text)
                guard existing.isEmpty else {
                    throw TutelaError(.exists, "\(recordID) was voided meanwhile")
                }
                let record = try await tx.record(recordID)
                try await state.verify(record, id: recordID)
                guard record != nil else {
                    throw TutelaError.notFound("\(recordID) was destroyed meanwhile")
                }
                try await tx.put(object)
                try await Session.appendAudit(entry, tx: tx, signer: identity, notify: notify)
            }
            return statement
        }
    }

    /// The record's void statement, verified, or nil when it is not void.
    public func voidStatement(of label: Label) async throws -> VoidStatement? {
        guard let statement = try await fact(VoidStatement.self, about: label.record.text) else {
            return nil
        }
        try statement.check(label: label, directory: directory)
        return statement
    }

    static func alreadyVoid(_ statement: VoidStatement) -> TutelaError {
        TutelaError(
            .exists,
            "\(statement.record) was voided on \(Timestamp.iso(statement.time)) by "
                + "\(statement.voidedBy): \(statement.reason)")
    }
}

extension Session {
    /// Addenda and voids, as this person.
    public var corrections: Corrections { Corrections(session: self) }
}
