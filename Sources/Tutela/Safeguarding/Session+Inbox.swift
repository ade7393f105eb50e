import TutelaCrypto

extension Session {
    /// Notices for this person, newest first: each the signed audit entry it points to.
    public func inbox() async throws -> [Notice] {
        let read = try await inboxReadThrough()
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
            notices.append(Notice(sequence: sequence, entry: entry, unread: sequence > read))
        }
        return notices.sorted { $0.sequence > $1.sequence }
    }

    /// The last audit sequence this person marked read in their inbox (-1 for none).
    func inboxReadThrough() async throws -> Int64 {
        guard
            let object = try await store.objects(
                kind: ObjectKind.inboxRead, key: principal.id.text
            ).first(where: { $0.id == principal.id.text })
        else { return -1 }
        var r = CanonicalReader(object.body, context: "the inbox marker of \(principal.id)")
        let sequence = try r.i64("sequence")
        try r.finish()
        return sequence
    }

    /// Marks this person's notices read through audit entry `sequence` (the newest they were
    /// shown): later ones stay unread. Recorded in the audit log; never moves backwards.
    public func markInboxRead(through sequence: Int64) async throws {
        guard sequence > (try await inboxReadThrough()) else { return }
        var w = CanonicalWriter()
        w.i64(sequence)
        let marker = StoredObject(
            kind: ObjectKind.inboxRead, id: principal.id.text, key: principal.id.text,
            body: w.bytes)
        try await record(
            auditEntry(.inboxRead, subject: nil, reason: "read through entry \(sequence)"),
            notify: [], objects: [marker])
    }
}
