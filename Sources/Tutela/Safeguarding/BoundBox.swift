import TutelaCrypto

/// A secret sealed to one X25519 key, tagged with what kind of box it is and bound to what it is for:
/// `crypto_box_seal(u8 version = 2 ‖ string kind ‖ string binding ‖ secret)`. Opening checks both,
/// so a box moved to another group version, record or request is refused, and no kind of box can
/// be taken for another (nor for a key slot, which has a tag of its own).
enum BoundBox {
    static let version: UInt8 = 2

    /// What a bound box holds; its raw value is the tag sealed inside.
    enum Kind: String {
        /// A group's private key, held by one member (binding `group:ROLE#V/MEMBER`).
        case groupMember = "tutela/group-member"
        /// A break-glass share held by a group (binding `RECORD/group:ROLE#V`).
        case share = "tutela/share"
        /// A share an approver released to the requester (binding `REQUEST/REQUESTER`).
        case approval = "tutela/approval"
        /// A group's share of a person's keys (binding `PERSON/SPLIT/group:ROLE#V`).
        case escrow = "tutela/escrow"
        /// A share of a person's keys released to a recovery code (binding `REQUEST/PERSON`).
        case recovery = "tutela/recovery"
    }

    private static func header(_ kind: Kind, _ binding: String) -> [UInt8] {
        var header = CanonicalWriter()
        header.u8(version)
        header.string(kind.rawValue)
        header.string(binding)
        return header.bytes
    }

    static func seal(
        _ secret: SecretBytes, kind: Kind, binding: String, to key: KeyAgreementPublicKey
    ) throws(TutelaError) -> [UInt8] {
        do {
            return try SealedBox.seal(
                try SecretBytes(copying: header(kind, binding)).appending(secret), to: key)
        } catch {
            throw .internal("could not seal: \(error)")
        }
    }

    static func open(
        _ box: [UInt8], kind: Kind, binding: String, with key: KeyAgreementPrivateKey,
        what: String
    ) throws(TutelaError) -> SecretBytes {
        guard box.count <= 1024 else { throw .tampered("\(what) is oversized") }
        let message: SecretBytes
        do { message = try SealedBox.open(box, with: key) } catch {
            throw .tampered("\(what) does not open: it was altered or is not for this key")
        }
        let expected = header(kind, binding)
        let n = expected.count
        guard message.count > n, message.withUnsafeBytes({ Array($0.prefix(n)) }) == expected
        else {
            message.wipe()
            throw .tampered("\(what) was made for something else")
        }
        do { return try message.slice(n..<message.count) } catch { throw .internal("\(error)") }
    }
}
