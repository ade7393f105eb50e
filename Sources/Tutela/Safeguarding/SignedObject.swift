import TutelaCrypto

/// Objects signed by the person who made them: flags, break-glass requests and approvals, reviews.
///
/// Body: `data fields ‖ string signer ‖ fixed(64) signature`, the signature over
/// `string "tutela/object/v1" ‖ string kind ‖ string id ‖ data fields`. An object edited, moved to
/// another id, or made by someone without the signer's key is refused as tampering.
enum SignedObject {
    static let maximumFieldsByteCount = 16 * 1024

    static func message(kind: String, id: String, fields: [UInt8]) -> [UInt8] {
        var w = CanonicalWriter()
        w.string("tutela/object/v1")
        w.string(kind)
        w.string(id)
        w.data(fields)
        return w.bytes
    }

    static func make(
        kind: String, id: String, key: String, fields: [UInt8], signer: Identity
    ) throws(TutelaError) -> StoredObject {
        var w = CanonicalWriter()
        w.data(fields)
        w.string(signer.principal)
        w.fixed(try signer.sign(message(kind: kind, id: id, fields: fields)))
        return StoredObject(kind: kind, id: id, key: key, body: w.bytes)
    }

    /// Verifies `object` against its signer's enrolled key.
    /// - Returns: the fields and who signed them.
    static func open(
        _ object: StoredObject, directory: Directory
    ) throws(TutelaError) -> (fields: [UInt8], signer: Principal) {
        var r = CanonicalReader(object.body, context: "\(object.kind) \(object.id)")
        let fields = try r.data("fields", max: maximumFieldsByteCount)
        let signerID = try r.string("signer", max: Identifier.maximumLength)
        let signature = try r.fixed("signature", count: SigningPublicKey.signatureByteCount)
        try r.finish()
        guard let signer = directory.principals[signerID] else {
            throw .tampered(
                "\(object.kind) \(object.id) is signed by '\(signerID)', who is not enrolled")
        }
        let signed = message(kind: object.kind, id: object.id, fields: fields)
        guard
            signer.signingKeys.contains(where: { (try? $0.verify(signature, for: signed)) != nil })
        else {
            throw .tampered(
                "\(object.kind) \(object.id) does not carry a valid signature of '\(signerID)'")
        }
        return (fields, signer)
    }
}

/// The kinds of stored object the safeguarding path uses.
public enum ObjectKind {
    static let groupMember = "group-member"
    static let flag = "flag"
    public static let share = "break-glass-share"
    static let request = "break-glass-request"
    static let approval = "break-glass-approval"
    static let opened = "break-glass-opened"
    static let review = "review"
    static let reviewOutcome = "review-outcome"
    static let notice = "notice"
}

/// A new random id with a prefix: `BG-XXXX-XXXX-XXXX`.
func newID(_ prefix: String) throws(TutelaError) -> String {
    let record = try Identifier.newRecordID()
    return prefix + record.dropFirst(1)
}
