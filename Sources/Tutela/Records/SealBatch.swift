import Synchronization
import TutelaCrypto

/// The boxes one transaction seals — key slots and break-glass shares — grouped by recipient: each
/// recipient's boxes share one ephemeral key and one precomputed shared key
/// (`crypto_box_beforenm`), each box with its own nonce and its own binding inside. One key
/// agreement per recipient per transaction instead of one per box.
///
/// Safe to use from every core at once (a ``Session/inParallel(_:reversed:_:)`` seal). The shared
/// keys are wiped by ``finish()`` (and with the batch's last reference): make one per transaction.
final class SealBatch: Sendable {
    private let keys = Mutex<(open: Bool, byRecipient: [KeyAgreementPublicKey: BatchBoxKey])>(
        (true, [:]))

    /// The batch key for `recipient`, made on first use.
    /// - Throws: ``TutelaError/Kind/internal`` once the batch is finished.
    func key(for recipient: KeyAgreementPublicKey) throws(TutelaError) -> BatchBoxKey {
        let found = keys.withLock { $0.open ? $0.byRecipient[recipient] : nil }
        if let found { return found }
        let made: BatchBoxKey
        do { made = try BatchBoxKey(to: recipient) } catch {
            throw .internal("could not make a batch key: \(error)")
        }
        // Two workers may make one at once: the first stored is kept, the other wiped.
        let kept = keys.withLock { keys -> BatchBoxKey? in
            guard keys.open else { return nil }
            if let earlier = keys.byRecipient[recipient] { return earlier }
            keys.byRecipient[recipient] = made
            return made
        }
        guard let kept else {
            made.wipe()
            throw .internal("a finished batch was asked to seal")
        }
        if kept !== made { made.wipe() }
        return kept
    }

    /// How many recipients the batch agreed a key with.
    var recipientCount: Int { keys.withLock { $0.byRecipient.count } }

    /// Wipes every shared key; the batch seals nothing more.
    func finish() {
        let all = keys.withLock { keys in
            keys.open = false
            return Array(keys.byRecipient.values)
        }
        for key in all { key.wipe() }
    }
}

/// A secret sealed to one X25519 key, in either of the two forms Tutela reads:
///
/// - **v2, alone**: `crypto_box_seal(message)`, an ephemeral key of its own (what operations that
///   seal one box at a time write: a flag's group slots, a re-seal, group-member boxes, released
///   shares);
/// - **v3, batched**: `u8 3 ‖ fixed(32) ephemeral public key ‖ fixed(24) nonce ‖
///   crypto_box_easy_afternm(message)`, the ephemeral key shared with the rest of its transaction's
///   boxes to the same recipient (``SealBatch``).
///
/// A v2 box begins with its ephemeral key, which may itself begin with the byte 3: a box that does
/// not open as v3 is tried as v2, and only one that opens neither way is refused. Authentication
/// makes the two unconfusable; the message inside carries the form's version too, so the binding
/// a caller checks is always that of the form that opened.
enum RecipientBox {
    static let batchedVersion: UInt8 = 3
    static let aloneVersion: UInt8 = 2
    static let batchedOverhead =
        1 + KeyAgreementPublicKey.byteCount + BatchBox.nonceByteCount + BatchBox.tagByteCount

    /// Seals `message` to `recipient`: batched when `batch` is given, else alone.
    /// - Parameter message: built with ``version(batched:)`` as its first byte.
    static func seal(
        _ message: SecretBytes, to recipient: KeyAgreementPublicKey, batch: SealBatch?
    ) throws(TutelaError) -> [UInt8] {
        do {
            guard let batch else { return try SealedBox.seal(message, to: recipient) }
            let key = try batch.key(for: recipient)
            return [batchedVersion] + key.ephemeralPublicKey.bytes + (try key.seal(message))
        } catch let error as TutelaError {
            throw error
        } catch {
            throw .internal("could not seal a box: \(error)")
        }
    }

    /// The version byte a message sealed this way starts with.
    static func version(batched: Bool) -> UInt8 { batched ? batchedVersion : aloneVersion }

    /// Opens `box` with `key`, either form.
    /// - Returns: the message and the form's version (2 or 3), which the message must start with.
    /// - Throws: ``CryptoError/authenticationFailed`` when it opens neither way.
    static func open(_ box: [UInt8], with key: KeyAgreementPrivateKey) throws(CryptoError) -> (
        message: SecretBytes, version: UInt8
    ) {
        if box.first == batchedVersion, box.count >= batchedOverhead {
            let ephemeral = box[1..<(1 + KeyAgreementPublicKey.byteCount)]
            let sealed = box[(1 + KeyAgreementPublicKey.byteCount)...]
            if let message = try? BatchBox.open(sealed, ephemeral: ephemeral, with: key) {
                return (message, batchedVersion)
            }
        }
        return (try SealedBox.open(box, with: key), aloneVersion)
    }
}
