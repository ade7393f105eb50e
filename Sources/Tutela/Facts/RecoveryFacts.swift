import TutelaCrypto

/// Identity recovery's facts: each person's escrowed key shares, an administrator's request, the
/// approvers' releases and the one use. Their format is `FactCodec`'s; each type here says only its
/// own fields.

/// A person's keys in escrow, so that neither a quorum of approvers nor an administrator alone can
/// rebuild them: the keys (Ed25519 seed ‖ X25519 secret) are encrypted under a key derived from two
/// halves — one split k-of-n among the policy's recovery approver groups (one bound box per group),
/// the other sealed to each administrator. Made and signed by the person themselves, at their own
/// command, and remade whenever their keys, the approver groups, the administrators or the quorum
/// change.
public struct IdentityEscrow: Sendable, Equatable, Fact {
    static let kind = FactKind.escrow
    static let maximumFieldsByteCount = 16 * 1024

    /// One group's share of the approvers' half.
    struct Box: Sendable, Equatable {
        /// The approver role whose group holds it.
        let role: Role
        /// The group key version it is sealed to.
        let version: Int
        /// `BoundBox` of kind `.escrow`: one Shamir share.
        let box: [UInt8]
    }

    /// The administrators' half, sealed to one administrator's key.
    struct AdminBox: Sendable, Equatable {
        /// The administrator.
        let admin: PrincipalID
        /// Their X25519 key it is sealed to (a box to a key they no longer hold is stale).
        let key: KeyAgreementPublicKey
        /// `BoundBox` of kind `.escrow`: 32 bytes.
        let box: [UInt8]
    }

    /// Whose keys: the fact's signer.
    public let principal: PrincipalID
    /// The public keys the escrow rebuilds, so that an escrow of retired keys is never used.
    let identity: PublicIdentity
    /// The split the shares come from (random hex, 32 characters).
    let splitID: String
    /// How many approvers' shares rebuild their half.
    public let threshold: Int
    /// The keys, encrypted (XChaCha20-Poly1305) under the key both halves derive.
    let sealed: XChaCha20Poly1305.SealedMessage
    let boxes: [Box]
    let adminBoxes: [AdminBox]

    var factID: String { principal.text }
    var subject: String { principal.text }

    /// The groups holding a share, as `ROLE#V`.
    var holders: [Recipient] { boxes.map { .group($0.role, version: $0.version) } }

    /// The administrators holding the other half, with the keys it is sealed to.
    var admins: [AdminKey] { adminBoxes.map { AdminKey(id: $0.admin, key: $0.key) } }

    /// An administrator and their key, for comparing escrows.
    struct AdminKey: Equatable { let id: PrincipalID, key: KeyAgreementPublicKey }

    /// What each group's box is bound to: the person, the split and the group version.
    static func binding(_ principal: PrincipalID, split: String, _ holder: Recipient) -> String {
        "\(principal)/\(split)/\(holder)"
    }

    /// What each administrator's box is bound to.
    static func binding(_ principal: PrincipalID, split: String, admin: PrincipalID) -> String {
        "\(principal)/\(split)/admin:\(admin)"
    }

    /// What the encrypted keys are bound to: the person, the split and the public keys.
    static func associatedData(
        _ principal: PrincipalID, split: String, identity: PublicIdentity
    ) -> [UInt8] {
        var w = CanonicalWriter()
        w.string("tutela/escrow/v1")
        w.id(principal)
        w.string(split)
        w.fixed(identity.signingKey.bytes)
        w.fixed(identity.agreementKey.bytes)
        return w.bytes
    }

    func writeFields(_ w: inout CanonicalWriter) {
        w.fixed(identity.signingKey.bytes)
        w.fixed(identity.agreementKey.bytes)
        w.string(splitID)
        w.u8(UInt8(clamping: threshold))
        w.fixed(sealed.nonce)
        w.data(sealed.ciphertext)
        w.u8(UInt8(clamping: boxes.count))
        for b in boxes {
            w.string(b.role.rawValue)
            w.u32(UInt32(clamping: b.version))
            w.data(b.box)
        }
        w.u8(UInt8(clamping: adminBoxes.count))
        for a in adminBoxes {
            w.id(a.admin)
            w.fixed(a.key.bytes)
            w.data(a.box)
        }
    }

    static func readFields(
        _ r: inout CanonicalReader, header: FactHeader
    ) throws(TutelaError) -> IdentityEscrow {
        try header.requireOnePerSubject()
        guard header.subject == header.signer.text else {
            throw .tampered("the key escrow of \(header.subject) was not made by them")
        }
        func key(_ what: String) throws(TutelaError) -> [UInt8] { try r.fixed(what, count: 32) }
        let signing = try key("signing key")
        let agreement = try key("agreement key")
        let split = try r.string("split", max: 32)
        let threshold = Int(try r.u8("threshold"))
        let nonce = try r.fixed("nonce", count: XChaCha20Poly1305.nonceByteCount)
        let ciphertext = try r.data("sealed keys", max: 128)
        var boxes: [Box] = []
        for _ in 0..<Int(try r.u8("boxes")) {
            guard let role = Role(rawValue: try r.string("role", max: 64)) else {
                throw .tampered("the key escrow of \(header.subject) names an unknown role")
            }
            boxes.append(
                Box(
                    role: role, version: Int(try r.u32("version")), box: try r.data("box", max: 512)
                ))
        }
        var admins: [(PrincipalID, [UInt8], [UInt8])] = []
        for _ in 0..<Int(try r.u8("administrators")) {
            admins.append(
                (
                    try r.id("administrator"), try key("administrator key"),
                    try r.data("box", max: 512)
                ))
        }
        guard threshold >= 2, threshold <= boxes.count, Set(boxes.map(\.role)).count == boxes.count,
            !admins.isEmpty
        else { throw .tampered("the key escrow of \(header.subject) has an impossible quorum") }
        do {
            return IdentityEscrow(
                principal: header.signer,
                identity: PublicIdentity(
                    signingKey: try SigningPublicKey(bytes: signing),
                    agreementKey: try KeyAgreementPublicKey(bytes: agreement)),
                splitID: split, threshold: threshold,
                sealed: .init(nonce: nonce, ciphertext: ciphertext), boxes: boxes,
                adminBoxes: try admins.map {
                    AdminBox(admin: $0.0, key: try KeyAgreementPublicKey(bytes: $0.1), box: $0.2)
                })
        } catch {
            throw .tampered("the key escrow of \(header.subject) names malformed keys")
        }
    }
}

/// An administrator's request to recover a person's keys, with the public half of the one-time code
/// the shares are released to.
public struct RecoveryRequest: Sendable, Equatable, Fact {
    static let kind = FactKind.recoveryRequest
    /// The request's id, `IR-XXXX-XXXX-XXXX`.
    public let id: RequestID
    /// Whose keys it would recover.
    public let principal: PrincipalID
    /// The administrator who asked: the fact's signer.
    public let requester: PrincipalID
    /// Why, in the administrator's words.
    public let reason: String
    /// When it was made, in seconds since 1970 UTC.
    public let created: Int64
    /// When it lapses, in seconds since 1970 UTC.
    public let expires: Int64
    /// Approvals needed (the policy's quorum when requested).
    public let approvalsNeeded: Int
    /// The X25519 public key the one-time code derives: approvals are sealed to it.
    let codeKey: KeyAgreementPublicKey
    /// The escrow split it releases (an escrow made again since is not this one).
    let splitID: String
    /// The administrators' half of the escrow key, re-sealed to the code key by the administrator
    /// who asked.
    let adminBox: [UInt8]

    var factID: String { id.text }
    var subject: String { principal.text }

    /// What each released share is bound to.
    var binding: String { "\(id)/\(principal)" }

    /// What the administrators' half, released to the code, is bound to.
    var adminBinding: String { "\(id)/\(principal)/admin" }

    func writeFields(_ w: inout CanonicalWriter) {
        w.string(reason)
        w.i64(created)
        w.i64(expires)
        w.u8(UInt8(clamping: approvalsNeeded))
        w.fixed(codeKey.bytes)
        w.string(splitID)
        w.data(adminBox)
    }

    static func readFields(
        _ r: inout CanonicalReader, header: FactHeader
    ) throws(TutelaError) -> RecoveryRequest {
        let reason = try r.string("reason", max: 2000)
        let created = try r.i64("created")
        let expires = try r.i64("expires")
        let approvals = Int(try r.u8("approvals"))
        let key: KeyAgreementPublicKey
        do { key = try KeyAgreementPublicKey(bytes: try r.fixed("code key", count: 32)) } catch {
            throw .tampered("identity recovery request \(header.id) has a malformed code key")
        }
        return RecoveryRequest(
            id: try header.ownID(), principal: try header.subjectID(), requester: header.signer,
            reason: reason, created: created, expires: expires, approvalsNeeded: approvals,
            codeKey: key, splitID: try r.string("split", max: 32),
            adminBox: try r.data("administrator box", max: 512))
    }
}

/// One approver's release of their group's share of a person's keys, re-sealed to the request's
/// one-time code.
public struct RecoveryApproval: Sendable, Equatable, Fact {
    static let kind = FactKind.recoveryApproval
    /// The request approved.
    public let request: RequestID
    /// Who approved: the fact's signer.
    public let approver: PrincipalID
    /// The approver role whose group's share this releases.
    public let role: Role
    /// When, in seconds since 1970 UTC.
    public let time: Int64
    /// The share, as a bound box to the code key, bound to the request and the person.
    let box: [UInt8]
    /// The signing key of the keys the share is of: while it is still the person's, the share is
    /// live wherever its request's code is known, whatever became of the request.
    let keys: SigningPublicKey

    var factID: String { "\(request)/\(approver)" }
    var subject: String { request.text }

    func writeFields(_ w: inout CanonicalWriter) {
        w.string(role.rawValue)
        w.i64(time)
        w.data(box)
        w.fixed(keys.bytes)
    }

    static func readFields(
        _ r: inout CanonicalReader, header: FactHeader
    ) throws(TutelaError) -> RecoveryApproval {
        let role = try header.approverRole(&r, "recovery approval")
        let time = try r.i64("time")
        let box = try r.data("box", max: 512)
        let keys: SigningPublicKey
        do { keys = try SigningPublicKey(bytes: try r.fixed("keys", count: 32)) } catch {
            throw .tampered("recovery approval \(header.id) names malformed keys")
        }
        return RecoveryApproval(
            request: try header.subjectID(), approver: header.signer, role: role, time: time,
            box: box, keys: keys)
    }
}

/// What closes a recovery request: its one use, signed by the recovered keys before they are
/// replaced, or a cancellation by the person or an administrator.
struct RecoveryUse: Sendable, Equatable, Fact {
    static let kind = FactKind.recoveryUse
    let request: RequestID
    let time: Int64
    /// Who closed it: the fact's signer (the person, or an administrator), never written.
    let signer: PrincipalID

    var factID: String { request.text }
    var subject: String { request.text }

    func writeFields(_ w: inout CanonicalWriter) { w.i64(time) }

    static func readFields(
        _ r: inout CanonicalReader, header: FactHeader
    ) throws(TutelaError) -> RecoveryUse {
        try header.requireOnePerSubject()
        return RecoveryUse(
            request: try header.subjectID(), time: try r.i64("time"), signer: header.signer)
    }
}
