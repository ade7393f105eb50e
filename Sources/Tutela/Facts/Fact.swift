import TutelaCrypto

/// The kinds of signed fact a vault keeps beside its records: everything besides the directory and
/// the envelopes that decides who may read, keep or destroy a record.
///
/// The raw value is the `kind` a store files the fact under and the kind written inside its signed
/// bytes.
public enum FactKind: String, Sendable, CaseIterable {
    /// A safeguarding flag on a record (``SafeguardingFlag``).
    case flag
    /// An officer's request to open an unflagged record (``BreakGlassRequest``).
    case breakGlassRequest = "break-glass-request"
    /// An approver's release of a key share to a requester (``Approval``).
    case approval = "break-glass-approval"
    /// The one use of an approved break-glass request (``BreakGlassUse``).
    case breakGlassUse = "break-glass-opened"
    /// A disclosure or break-glass opening waiting for review (``ReviewItem``).
    case review
    /// A head of centre's verdict on a review item (``ReviewOutcome``).
    case reviewOutcome = "review-outcome"
    /// A legal or investigative hold, placed or released (``Hold``).
    case hold
    /// A record keeper's decision on a record whose period ended (``RetentionReview``).
    case retentionReview = "retention-review"
    /// The first keeper's half of a two-person destruction (``DestructionProposal``).
    case proposal = "destruction-proposal"
    /// What survives a destruction: the signed certificate (``DestructionCertificate``).
    case tombstone
    /// A person's keys split among the recovery approvers' groups (``IdentityEscrow``).
    case escrow = "identity-escrow"
    /// An administrator's request to recover someone's keys (``RecoveryRequest``).
    case recoveryRequest = "identity-recovery-request"
    /// An approver's release of their group's share of someone's keys (``RecoveryApproval``).
    case recoveryApproval = "identity-recovery-approval"
    /// The one use of a recovery request (``RecoveryUse``).
    case recoveryUse = "identity-recovered"
    /// A record marked as sealed by mistake (``VoidStatement``).
    case void
    /// A record's link to one of its addenda (``AddendumLink``).
    case addendumLink = "addendum-link"
    /// A tutorial planned with a learner: when, where, with whom — never what about
    /// (``TutorialPlan``).
    case plan = "tutorial-plan"
}

/// Where a fact is filed and who signed it: read from the signed bytes and checked against the
/// store's row on every read.
public struct FactHeader: Sendable, Equatable {
    /// What the fact is.
    public let kind: FactKind
    /// The fact's own id (a record id, a request id, `REQUEST/APPROVER`, …).
    public let id: String
    /// What the fact is about and filed under: a record id, or the request or review it answers.
    public let subject: String
    /// The principal whose enrolled key made ``signature``.
    public let signer: PrincipalID
    /// How many directory statements the signer's session had verified when it signed: the key
    /// must be the one that was the signer's at that position.
    public let madeUnder: Int64
    /// The signer's Ed25519 signature over the fact's signed bytes.
    public let signature: [UInt8]
}

/// A signed statement about a record (or about a fact about one), stored as a ``StoredObject``.
///
/// A conforming type says how its fields are written and read; everything else — the version byte,
/// the kind, the id and subject inside the signed bytes, the signer and the signature — is done once,
/// by ``FactCodec``, for every kind.
protocol Fact: Sendable {
    /// The kind this type is filed under.
    static var kind: FactKind { get }
    /// The version of this kind's fields that this build writes and reads.
    static var version: UInt8 { get }
    /// The largest size the fields of this kind may have.
    static var maximumFieldsByteCount: Int { get }
    /// The fact's id, signed in.
    var factID: String { get }
    /// What the fact is filed under, signed in.
    var subject: String { get }
    /// Writes the kind-specific fields.
    func writeFields(_ w: inout CanonicalWriter)
    /// Reads the kind-specific fields of a fact whose header is already verified.
    /// - Throws: `.tampered` when the fields are malformed or disagree with the header.
    static func readFields(
        _ r: inout CanonicalReader, header: FactHeader
    ) throws(TutelaError) -> Self
}

extension Fact {
    static var version: UInt8 { 1 }
    static var maximumFieldsByteCount: Int { 4 * 1024 }
}

/// Makes and reads every kind of ``Fact``: one format, one reader.
///
/// Body: `u8 format = 3 ‖ string kind ‖ string id ‖ string subject ‖ u8 version ‖ data fields ‖
/// string signer ‖ i64 madeUnder ‖ fixed(64) signature`, the signature over
/// `string "tutela/fact/v3"` followed by every byte of the body before it. A fact edited, moved to
/// another id or subject, filed under another kind, replayed as another version, signed by anyone
/// but an enrolled signer, or signed by a key that was not theirs at the directory position it
/// names (a key retired by a re-key, a leaver's) is refused as tampering.
enum FactCodec {
    static let format: UInt8 = 3
    static let domain = "tutela/fact/v3"

    /// The bytes the signer signs: the domain, then the body up to the signer's name inclusive.
    static func message(_ unsigned: [UInt8]) -> [UInt8] {
        var w = CanonicalWriter()
        w.string(domain)
        return w.bytes + unsigned
    }

    private static func unsigned<F: Fact>(
        _ fact: F, signer: PrincipalID, madeUnder: Int64
    ) -> [UInt8] {
        var fields = CanonicalWriter()
        fact.writeFields(&fields)
        var w = CanonicalWriter()
        w.u8(format)
        w.string(F.kind.rawValue)
        w.string(fact.factID)
        w.string(fact.subject)
        w.u8(F.version)
        w.data(fields.bytes)
        w.id(signer)
        w.i64(madeUnder)
        return w.bytes
    }

    /// Signs `fact` as `signer`, whose session has verified `madeUnder` directory statements, and
    /// files it under its kind, id and subject.
    static func make<F: Fact>(
        _ fact: F, signer: Identity, madeUnder: Int64
    ) throws(TutelaError) -> StoredObject {
        // Never write what the reader would refuse: stored, it would read as damage for good.
        var fields = CanonicalWriter()
        fact.writeFields(&fields)
        guard fields.bytes.count <= F.maximumFieldsByteCount else {
            throw .usage("what would be recorded is too long; nothing was written")
        }
        let body = unsigned(fact, signer: signer.principal, madeUnder: madeUnder)
        var w = CanonicalWriter()
        w.fixed(try signer.sign(message(body)))
        return StoredObject(
            kind: F.kind.rawValue, id: fact.factID, key: fact.subject, body: body + w.bytes)
    }

    /// Reads and verifies a stored fact of type `F`.
    /// - Returns: the fact and its verified header.
    /// - Throws: `.tampered` when the row and the signed bytes disagree, the version is unknown, the
    ///   signer is not enrolled, or the signature does not verify.
    static func read<F: Fact>(
        _ object: StoredObject, as type: F.Type, directory: Directory
    ) throws(TutelaError) -> (fact: F, header: FactHeader) {
        let name = "\(object.kind) \(Identifier.printable(object.id))"
        var r = CanonicalReader(object.body, context: name)
        guard try r.u8("format") == format else {
            throw .tampered("\(name) is not in a format this version of Tutela reads")
        }
        let kind = try r.string("kind", max: 64)
        let id = try r.string("id", max: 2 * Identifier.maximumLength + 1)
        let subject = try r.string("subject", max: 2 * Identifier.maximumLength + 1)
        // Byte for byte: String's `==` treats canonically equivalent spellings as equal, so a row
        // keyed by a look-alike id would pass while lookups by the real id miss it.
        func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }
        guard same(kind, F.kind.rawValue), same(object.kind, kind), same(object.id, id),
            same(object.key, subject)
        else {
            throw .tampered("\(name) was moved: its signed bytes name another kind, id or subject")
        }
        guard try r.u8("version") == F.version else {
            throw .tampered("\(name) has a version this version of Tutela does not read")
        }
        let fields = try r.data("fields", max: F.maximumFieldsByteCount)
        let signerID: PrincipalID = try r.id("signer")
        let madeUnder = try r.i64("directory position")
        let signedCount = r.position
        let signature = try r.fixed("signature", count: SigningPublicKey.signatureByteCount)
        try r.finish()
        try checkSignature(
            signature, over: message(Array(object.body[0..<signedCount])), by: signerID,
            madeUnder: madeUnder, directory: directory, name: name)
        let header = FactHeader(
            kind: F.kind, id: id, subject: subject, signer: signerID, madeUnder: madeUnder,
            signature: signature)
        var fieldReader = CanonicalReader(fields, context: name)
        let fact = try F.readFields(&fieldReader, header: header)
        try fieldReader.finish()
        return (fact, header)
    }

    /// The signer and directory position a fact's body names, read without checking anything else
    /// (`audit verify` compares them with the entry that wrote it); nil for a malformed body.
    static func signer(of body: [UInt8]) -> (PrincipalID, Int64)? {
        var r = CanonicalReader(body, context: "fact")
        do {
            guard try r.u8("format") == format else { return nil }
            _ = try r.string("kind", max: 64)
            _ = try r.string("id", max: 2 * Identifier.maximumLength + 1)
            _ = try r.string("subject", max: 2 * Identifier.maximumLength + 1)
            _ = try r.u8("version")
            _ = try r.data("fields", max: 64 * 1024)
            let signer: PrincipalID = try r.id("signer")
            return (signer, try r.i64("directory position"))
        } catch { return nil }
    }

    /// Checks a fact whose fields and signature were kept apart from the store (a certificate
    /// printed or filed elsewhere) against its signer's enrolled keys.
    static func verify<F: Fact>(
        _ fact: F, signer: PrincipalID, madeUnder: Int64, signature: [UInt8], directory: Directory
    ) throws(TutelaError) {
        try checkSignature(
            signature, over: message(unsigned(fact, signer: signer, madeUnder: madeUnder)),
            by: signer, madeUnder: madeUnder, directory: directory,
            name: "the \(F.kind.rawValue) of \(fact.subject)")
    }

    /// Checks that `signer`'s key at directory position `madeUnder` made `signature` over `signed`,
    /// and that the position is one this directory has reached.
    private static func checkSignature(
        _ signature: [UInt8], over signed: [UInt8], by signerID: PrincipalID, madeUnder: Int64,
        directory: Directory, name: String
    ) throws(TutelaError) {
        guard let signer = directory.principals[signerID] else {
            throw .tampered("\(name) is signed by '\(signerID)', who is not enrolled")
        }
        guard madeUnder >= 1, madeUnder <= directory.statementCount else {
            throw .tampered(
                "\(name) says it was signed under directory position \(madeUnder), which this "
                    + "vault's directory (\(directory.statementCount) statements) never had")
        }
        let keys = signer.signingKeys(madeUnder: madeUnder)
        guard keys.contains(where: { (try? $0.verify(signature, for: signed)) != nil }) else {
            let retired = signer.everySigningKey.contains {
                (try? $0.verify(signature, for: signed)) != nil
            }
            throw .tampered(
                retired
                    ? "\(name) is signed with a key that was no longer '\(signerID)''s at directory "
                        + "position \(madeUnder): it was retired, or its holder revoked"
                    : "\(name) does not carry a valid signature of '\(signerID)'")
        }
    }
}

/// A new random id with a prefix: `BG-XXXX-XXXX-XXXX`.
func newID<Kind>(_ prefix: String) throws(TutelaError) -> ID<Kind> {
    let record = try Identifier.newRecordIDText()
    guard let id = ID<Kind>(validating: prefix + record.dropFirst(1)) else {
        throw .internal("a new \(Kind.noun) id is not a valid id")
    }
    return id
}
