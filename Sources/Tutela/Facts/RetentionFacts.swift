import TutelaCrypto

/// The retention path's facts: holds, review decisions, destruction proposals and the tombstones
/// (destruction certificates) that outlive a record. Each is one per record, filed under it.

/// A hold placed on (or released from) a record: while active it blocks destruction.
struct Hold: Sendable, Equatable, Fact {
    static let kind = FactKind.hold
    /// Version 2 adds ``decidedAt``.
    static let version: UInt8 = 2
    let record: RecordID
    /// True for a hold, false for its release (the newest fact stands).
    let active: Bool
    let reason: String
    let time: Int64
    /// Who placed or released it: the fact's signer.
    let by: PrincipalID
    /// How many directory statements there were when it was placed or released: the directory
    /// (and policy) its signer is judged by.
    let decidedAt: Int64

    var factID: String { record.text }
    var subject: String { record.text }

    func writeFields(_ w: inout CanonicalWriter) {
        w.bool(active)
        w.string(reason)
        w.i64(time)
        w.i64(decidedAt)
    }

    static func readFields(
        _ r: inout CanonicalReader, header: FactHeader
    ) throws(TutelaError) -> Hold {
        try header.requireOnePerSubject()
        let hold = Hold(
            record: try header.recordSubject(), active: try r.bool("active"),
            reason: try r.string("reason", max: 2000), time: try r.i64("time"), by: header.signer,
            decidedAt: try r.i64("decided at"))
        try header.requireMadeUnder(hold.decidedAt)
        return hold
    }

    /// Refuses (65) a hold or release whose signer the policy in force when it was made did not
    /// let place or release holds on the record: one written in by anyone else — a forged release
    /// would free a held record for destruction. A keeper who has left since keeps their hold.
    func check(label: Label, directory: Directory) throws(TutelaError) {
        let then = try directory.asOf(decidedAt)
        var state = RecordState()
        state.held = !active
        guard let placer = then.principals[by], !placer.revoked, let policy = then.policy,
            policy.decide(
                active ? .hold : .release, actor: placer, label: label, state: state,
                directory: then
            ).allowed
        else {
            throw .tampered(
                "the \(active ? "hold" : "release") on \(record) is signed by '\(by)', whom the "
                    + "policy in force when it was made did not let \(active ? "place" : "release") "
                    + "holds")
        }
    }
}

/// A record keeper's review of a record whose period ended: keep until a date, or destroy.
struct RetentionReview: Sendable, Equatable, Fact {
    static let kind = FactKind.retentionReview
    let record: RecordID
    /// Keep until this date; nil decides destruction.
    let keepUntil: CalendarDate?
    let reason: String
    let time: Int64
    /// The keeper who decided: the fact's signer.
    let by: PrincipalID

    var factID: String { record.text }
    var subject: String { record.text }

    func writeFields(_ w: inout CanonicalWriter) {
        w.optionalString(keepUntil?.description)
        w.string(reason)
        w.i64(time)
    }

    static func readFields(
        _ r: inout CanonicalReader, header: FactHeader
    ) throws(TutelaError) -> RetentionReview {
        try header.requireOnePerSubject()
        var keepUntil: CalendarDate?
        if let text = try r.optionalString("keep until", max: 10) {
            guard let date = CalendarDate(text) else {
                throw .tampered("retention review \(header.id) has a bad date")
            }
            keepUntil = date
        }
        return RetentionReview(
            record: try header.recordSubject(), keepUntil: keepUntil,
            reason: try r.string("reason", max: 2000),
            time: try r.i64("time"), by: header.signer)
    }
}

/// The first keeper's half of a destruction the policy gives to two people.
struct DestructionProposal: Sendable, Equatable, Fact {
    static let kind = FactKind.proposal
    let record: RecordID
    let time: Int64
    /// The proposing keeper: the fact's signer.
    let by: PrincipalID

    var factID: String { record.text }
    var subject: String { record.text }

    func writeFields(_ w: inout CanonicalWriter) { w.i64(time) }

    static func readFields(
        _ r: inout CanonicalReader, header: FactHeader
    ) throws(TutelaError) -> DestructionProposal {
        try header.requireOnePerSubject()
        return DestructionProposal(
            record: try header.recordSubject(), time: try r.i64("time"), by: header.signer)
    }
}

/// A signed destruction certificate: what was destroyed, under which rule, when and by whom. Kept as
/// the record's tombstone.
public struct DestructionCertificate: Sendable, Equatable, Fact {
    static let kind = FactKind.tombstone
    /// The destroyed record.
    public let record: RecordID
    /// BLAKE2b-256 of the canonical label (hex).
    public let labelHash: String
    /// BLAKE2b-256 of the destroyed envelope: label, nonce, ciphertext, signature (hex).
    public let ciphertextHash: String
    /// The retention rule that made the record due, in the policy's words.
    public let rule: String
    /// When, in seconds since 1970 UTC.
    public let time: Int64
    /// The keeper who destroyed it: the certificate's signer.
    public let authoriser: PrincipalID
    /// The second keeper who proposed it, where the policy asks for two.
    public let proposer: PrincipalID?
    /// The directory position the authoriser signed under.
    public let madeUnder: Int64
    /// The authoriser's Ed25519 signature over the tombstone's signed bytes.
    public let signature: [UInt8]

    var factID: String { record.text }
    var subject: String { record.text }

    func writeFields(_ w: inout CanonicalWriter) {
        w.string(labelHash)
        w.string(ciphertextHash)
        w.string(rule)
        w.i64(time)
        w.optionalID(proposer)
    }

    static func readFields(
        _ r: inout CanonicalReader, header: FactHeader
    ) throws(TutelaError) -> DestructionCertificate {
        try header.requireOnePerSubject()
        return DestructionCertificate(
            record: try header.recordSubject(), labelHash: try r.string("label hash", max: 64),
            ciphertextHash: try r.string("ciphertext hash", max: 64),
            rule: try r.string("rule", max: 1000), time: try r.i64("time"),
            authoriser: header.signer, proposer: try r.optionalID("proposer"),
            madeUnder: header.madeUnder, signature: header.signature)
    }

    /// The certificate as text, to print or file.
    public var text: String {
        [
            "tutela destruction certificate v1", "record: \(record)", "label-hash: \(labelHash)",
            "ciphertext-hash: \(ciphertextHash)", "rule: \(rule)", "time: \(Timestamp.iso(time))",
            "authorised-by: \(authoriser)",
        ].joined(separator: "\n") + (proposer.map { "\nproposed-by: \($0)" } ?? "")
            + "\nsignature: \(Hex.encode(signature))\n"
    }
}
