/// A destruction certificate with the label it names, proven: the certificate is a verified fact
/// signed by its authoriser, and the label row kept after destruction hashes to the label hash it
/// signed.
public struct CertifiedDestruction: Sendable, Equatable {
    /// The signed certificate.
    public let certificate: DestructionCertificate
    /// The destroyed record's label, whose hash the certificate signs.
    public let label: Label
    /// The learner's name as the directory records it, if they are still recorded.
    public let learnerName: String?

    /// The certificate as text to print or file again: the signed fields, then what they name.
    public var text: String {
        certificate.text
            + [
                "label: \(label.envelopeText)", "class: \(label.recordClass.rawValue)",
                "learner: \(label.learner)" + (learnerName.map { " (\($0))" } ?? ""),
                "written-by: \(label.author)", "sealed: \(label.created)",
                "verified: the authoriser's signature, and the label against label-hash",
            ].joined(separator: "\n") + "\n"
    }
}

/// Destruction certificates, kept as signed facts: listed, printed again and verified.
extension Retention {
    /// Every destruction certificate this person may see (those whose label the policy lets them
    /// see; never any for a learner or parent, nor any about their own family, whatever else they
    /// are: a certificate says which schedule the record was kept under, a flagged one's
    /// included), oldest first, each verified.
    /// - Throws: `.tampered` when a certificate or the label it names fails verification.
    public func certificates() async throws -> [CertifiedDestruction] {
        guard !principal.isFamily else { return [] }
        let rows = Dictionary(
            try await store.labels(learner: nil).map { ($0.record, $0) },
            uniquingKeysWith: { first, _ in first })
        var result: [CertifiedDestruction] = []
        for certificate in try await facts(DestructionCertificate.self, about: nil) {
            guard let proven = try proven(certificate, row: rows[certificate.record]),
                !directory.conceals(proven.label, from: principal)
            else {
                continue
            }
            result.append(proven)
        }
        return result.sorted { $0.certificate.time < $1.certificate.time }
    }

    /// The destruction certificate of `record`, verified, with the label it names.
    /// - Throws: `.notFound` when the record was not destroyed (or is not this person's to see),
    ///   `.tampered` when the certificate or its label fails verification.
    public func certificate(_ record: RecordID) async throws -> CertifiedDestruction {
        let none = TutelaError.notFound(
            "\(record) has no destruction certificate",
            hint: "tutela retention certificates lists every one you may see")
        guard !principal.isFamily, let certificate = try await tombstone(record) else {
            if principal.isFamily { throw Session.noRecord(record) }
            throw none
        }
        let row = try await store.label(record)
        guard let proven = try proven(certificate, row: row) else { throw none }
        // Kept from a learner or family, and from anyone about their own family's records: it
        // names the schedule the record was kept under, a flagged one's included.
        if directory.conceals(proven.label, from: principal) { throw Session.noRecord(record) }
        return proven
    }

    /// `certificate` verified, with its label row checked against it; nil when the policy does
    /// not let this person see the label.
    private func proven(_ certificate: DestructionCertificate, row: StoredLabel?) throws
        -> CertifiedDestruction?
    {
        try verify(certificate)
        guard let row,
            certificate.labelHash == Hex.encode(try StateMap.hash(row.labelBytes))
        else {
            throw TutelaError(
                .tampered,
                "the label kept for \(certificate.record) does not match its destruction "
                    + "certificate", hint: AuditLog.restoreHint)
        }
        let label = try Label.parse(row.labelBytes)
        guard label.record == certificate.record else {
            throw TutelaError.tampered(
                "the label kept for \(certificate.record) names another record")
        }
        let policy = try policy()
        guard
            policy.decide(
                .viewLabel, actor: principal, label: label, state: RecordState(destroyed: true),
                directory: directory
            ).allowed
        else { return nil }
        return CertifiedDestruction(
            certificate: certificate, label: label,
            learnerName: directory.learners[label.learner]?.name)
    }
}
