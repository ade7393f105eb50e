import TutelaCrypto

extension Session {
    /// Notices for this person, newest first: each the signed audit entry it points to.
    public func inbox() async throws -> [Notice] {
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
            notices.append(Notice(sequence: sequence, entry: entry))
        }
        return notices.sorted { $0.sequence > $1.sequence }
    }
}
