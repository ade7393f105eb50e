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
/// Body: `u8 format = 2 ‖ string kind ‖ string id ‖ string subject ‖ u8 version ‖ data fields ‖
/// string signer ‖ fixed(64) signature`, the signature over `string "tutela/fact/v2"` followed by
/// every byte of the body before it. A fact edited, moved to another id or subject, filed under
/// another kind, replayed as another version, or signed by anyone but an enrolled signer is refused
/// as tampering.
enum FactCodec {
    static let format: UInt8 = 2
    static let domain = "tutela/fact/v2"

    /// The bytes the signer signs: the domain, then the body up to the signer's name inclusive.
    static func message(_ unsigned: [UInt8]) -> [UInt8] {
        var w = CanonicalWriter()
        w.string(domain)
        return w.bytes + unsigned
    }

    private static func unsigned<F: Fact>(_ fact: F, signer: PrincipalID) -> [UInt8] {
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
        return w.bytes
    }

    /// Signs `fact` as `signer` and files it under its kind, id and subject.
    static func make<F: Fact>(_ fact: F, signer: Identity) throws(TutelaError) -> StoredObject {
        let body = unsigned(fact, signer: signer.principal)
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
        let signedCount = r.position
        let signature = try r.fixed("signature", count: SigningPublicKey.signatureByteCount)
        try r.finish()
        guard let signer = directory.principals[signerID] else {
            throw .tampered("\(name) is signed by '\(signerID)', who is not enrolled")
        }
        let signed = message(Array(object.body[0..<signedCount]))
        guard
            signer.signingKeys.contains(where: { (try? $0.verify(signature, for: signed)) != nil })
        else {
            throw .tampered("\(name) does not carry a valid signature of '\(signerID)'")
        }
        let header = FactHeader(
            kind: F.kind, id: id, subject: subject, signer: signerID, signature: signature)
        var fieldReader = CanonicalReader(fields, context: name)
        let fact = try F.readFields(&fieldReader, header: header)
        try fieldReader.finish()
        return (fact, header)
    }

    /// Checks a fact whose fields and signature were kept apart from the store (a certificate
    /// printed or filed elsewhere) against its signer's enrolled keys.
    static func verify<F: Fact>(
        _ fact: F, signer: PrincipalID, signature: [UInt8], directory: Directory
    ) throws(TutelaError) {
        guard let principal = directory.principals[signer] else {
            throw .tampered(
                "the \(F.kind.rawValue) of \(fact.subject) names '\(signer)', who is not enrolled")
        }
        let signed = message(unsigned(fact, signer: signer))
        guard
            principal.signingKeys.contains(where: {
                (try? $0.verify(signature, for: signed)) != nil
            })
        else {
            throw .tampered("the \(F.kind.rawValue) of \(fact.subject) does not verify")
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
