import TutelaCrypto

/// A secret sealed to one X25519 key, tagged with what kind of box it is and bound to what it is for:
/// a ``RecipientBox`` of `u8 version ‖ string kind ‖ string binding ‖ secret` — version 2 sealed
/// alone, version 3 batched with its transaction's other boxes to the same key (#26: break-glass
/// shares as records are sealed and re-wrapped). Opening checks kind and binding, so a box moved to
/// another group version, record or request is refused, and no kind of box can be taken for another
/// (nor for a key slot, which has a tag of its own).
enum BoundBox {

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

    private static func header(_ kind: Kind, _ binding: String, version: UInt8) -> [UInt8] {
        var header = CanonicalWriter()
        header.u8(version)
        header.string(kind.rawValue)
        header.string(binding)
        return header.bytes
    }

    /// Seals `secret` to `key`: in `batch` when one is given, else alone.
    static func seal(
        _ secret: SecretBytes, kind: Kind, binding: String, to key: KeyAgreementPublicKey,
        batch: SealBatch? = nil
    ) throws(TutelaError) -> [UInt8] {
        // Only shares are read in the batched form: any other kind sealed so could never be opened.
        guard batch == nil || kind == .share else {
            throw .internal("a \(kind.rawValue) box is never sealed in a batch")
        }
        let message: SecretBytes
        do {
            message = try SecretBytes(
                copying: header(
                    kind, binding, version: RecipientBox.version(batched: batch != nil))
            ).appending(secret)
        } catch {
            throw .internal("could not seal: \(error)")
        }
        defer { message.wipe() }
        return try RecipientBox.seal(message, to: key, batch: batch)
    }

    static func open(
        _ box: [UInt8], kind: Kind, binding: String, with key: KeyAgreementPrivateKey,
        what: String
    ) throws(TutelaError) -> SecretBytes {
        guard box.count <= 1024 else { throw .tampered("\(what) is oversized") }
        let (message, version): (SecretBytes, UInt8)
        do { (message, version) = try RecipientBox.open(box, with: key) } catch {
            throw .tampered("\(what) does not open: it was altered or is not for this key")
        }
        // Only break-glass shares are ever batched: any other kind in the batched form was not
        // made by Tutela.
        guard version == RecipientBox.aloneVersion || kind == .share else {
            message.wipe()
            throw .tampered("\(what) is in a form its kind is never sealed in")
        }
        let expected = header(kind, binding, version: version)
        let n = expected.count
        guard message.count > n, message.withUnsafeBytes({ Array($0.prefix(n)) }) == expected
        else {
            message.wipe()
            throw .tampered("\(what) was made for something else")
        }
        do { return try message.slice(n..<message.count) } catch { throw .internal("\(error)") }
    }
}
