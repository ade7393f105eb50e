import TutelaCrypto

extension Session {
    /// Notices for this person, newest first: each the signed audit entry it points to.
    public func inbox() async throws -> [Notice] {
        let read = try await inboxReadThrough()
        let seesReasons =
            principal.has(.headOfCentre)
            || directory.policy.map { policy in
                RecordClass.allCases.contains { policy.seesFlags($0, actor: principal) }
            } == true
        let withheld: Set<AuditEntry.Action> = [
            .flag, .disclose, .breakGlassRequest, .breakGlassApprove, .breakGlassDecline,
            .breakGlassOpen,
        ]
        // A safeguarding or retention step on their own family's records is never told to them,
        // even by a notice stored before they were linked to the learner.
        let family = try await ownFamilysRecords()
        let familySteps = withheld.union([.review, .destroyProposal, .destroy])
        var notices: [Notice] = []
        for object in try await store.objects(kind: ObjectKind.notice, key: principal.id.text) {
            var r = CanonicalReader(object.body, context: "notice \(object.id)")
            let sequence = try r.i64("sequence")
            try r.finish()
            guard let link = try await store.link(.audit, at: sequence) else {
                throw TutelaError.tampered(
                    "notice \(object.id) points at audit entry \(sequence), which is missing")
            }
            guard let entry = AuditEntry.genuine(link, directory: directory) else {
                throw TutelaError.tampered(
                    "audit entry \(sequence) behind a notice does not verify")
            }
            if familySteps.contains(entry.action),
                let subject = entry.subject.flatMap(RecordID.init(validating:)),
                family.contains(subject)
            {
                continue
            }
            let hidden = !seesReasons && withheld.contains(entry.action)
            let shown = hidden ? entry.withoutReason : entry
            notices.append(Notice(sequence: sequence, entry: shown, unread: sequence > read))
        }
        return notices.sorted { $0.sequence > $1.sequence }
    }

    /// The last audit sequence this person marked read in their inbox (-1 for none).
    ///
    /// The marker names the `inbox-read` audit entry that wrote it, which must be genuine, this
    /// person's, and say the same: a marker edited in the database to silence notices to come is
    /// tampering (65). One deleted, or an older one put back, only shows more as new.
    func inboxReadThrough() async throws -> Int64 {
        guard
            let object = try await store.objects(
                kind: ObjectKind.inboxRead, key: principal.id.text
            ).first(where: { $0.id == principal.id.text })
        else { return -1 }
        let name = "the inbox marker of \(principal.id)"
        var r = CanonicalReader(object.body, context: name)
        let sequence = try r.i64("sequence")
        let writtenBy = try r.i64("audit entry")
        try r.finish()
        guard let link = try await store.link(.audit, at: writtenBy),
            let entry = AuditEntry.genuine(link, directory: directory),
            entry.action == .inboxRead, entry.actor == principal.id,
            entry.reason == Self.inboxReadReason(sequence), sequence < writtenBy
        else {
            throw TutelaError.tampered("\(name) does not match the audit entry that wrote it")
        }
        return sequence
    }

    static func inboxReadReason(_ sequence: Int64) -> String { "read through entry \(sequence)" }

    /// Marks this person's notices read through audit entry `sequence` (the newest they were
    /// shown): later ones stay unread. Recorded in the audit log; never moves backwards.
    /// - Throws: usage (64) for a sequence past this person's newest notice: a marker may only
    ///   say what they were shown (one past the entry that writes it would read as tampering).
    public func markInboxRead(through sequence: Int64) async throws {
        guard sequence > (try await inboxReadThrough()) else { return }
        // Bounded by what the person is shown: a notice hidden from them (a family's own
        // record's) must not be discoverable by probing the bound.
        guard sequence <= (try await inbox().first?.sequence ?? -1) else {
            throw TutelaError(
                .usage, "there is no notice \(sequence) in your inbox",
                hint: "mark read through the newest notice you were shown")
        }
        let entry = auditEntry(.inboxRead, subject: nil, reason: Self.inboxReadReason(sequence))
        let (identity, id) = (self.identity, principal.id.text)
        try await auditedWrite { tx in
            let link = try await Self.appendAudit(entry, tx: tx, signer: identity)
            // The marker names the entry just written: no one can move it without one.
            var w = CanonicalWriter()
            w.i64(sequence)
            w.i64(link.sequence)
            try await tx.put(
                StoredObject(kind: ObjectKind.inboxRead, id: id, key: id, body: w.bytes))
        }
    }
}
