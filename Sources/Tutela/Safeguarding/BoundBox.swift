import TutelaCrypto

/// A secret sealed to one X25519 key and bound to what it is for:
/// `crypto_box_seal(u8 version ‖ string binding ‖ secret)`. Opening checks the binding, so a box moved
/// to another group version, record or request is refused. Used for group keys held by members,
/// break-glass shares held by groups, and shares released to a requester.
enum BoundBox {
    static let version: UInt8 = 1

    static func seal(
        _ secret: SecretBytes, binding: String, to key: KeyAgreementPublicKey
    ) throws(TutelaError) -> [UInt8] {
        var header = CanonicalWriter()
        header.u8(version)
        header.string(binding)
        do {
            return try SealedBox.seal(
                try SecretBytes(copying: header.bytes).appending(secret), to: key)
        } catch {
            throw .internal("could not seal: \(error)")
        }
    }

    static func open(
        _ box: [UInt8], binding: String, with key: KeyAgreementPrivateKey, what: String
    ) throws(TutelaError) -> SecretBytes {
        guard box.count <= 1024 else { throw .tampered("\(what) is oversized") }
        let message: SecretBytes
        do { message = try SealedBox.open(box, with: key) } catch {
            throw .tampered("\(what) does not open: it was altered or is not for this key")
        }
        var header = CanonicalWriter()
        header.u8(version)
        header.string(binding)
        let n = header.bytes.count
        guard message.count > n, message.withUnsafeBytes({ Array($0.prefix(n)) }) == header.bytes
        else {
            throw .tampered("\(what) was made for something else")
        }
        do { return try message.slice(n..<message.count) } catch { throw .internal("\(error)") }
    }
}
