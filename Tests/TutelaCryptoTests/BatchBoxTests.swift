import Foundation
import Testing

@testable import TutelaCrypto

/// Boxes batched under one ephemeral key (#26): `crypto_box_beforenm` once, then
/// `crypto_box_easy_afternm` per box with its own nonce.
@Suite("Batched boxes")
struct BatchBoxTests {
    // The NaCl box test keys (Bernstein, "Cryptography in NaCl", §10; also RFC 7748 §6.1).
    static let alice = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"
    static let bob = "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"
    static let bobPublic = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"
    static let nonce = "69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37"

    @Test("the precomputed key is NaCl's published one, and HSalsa20 of the X25519 secret")
    func precomputedKey() throws {
        let k = try BatchBox.precompute(
            secret: secret(Self.alice), publicKey: [UInt8](hex: Self.bobPublic))
        // "firstkey" of NaCl's tests/box.c.
        #expect(
            k.unprotectedCopy()
                == [UInt8](hex: "1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389"))
        let shared = try X25519.sharedSecret(
            privateKey: secret(Self.alice), publicKey: [UInt8](hex: Self.bobPublic))
        #expect(try BatchBox.hsalsa20(shared) == k)
    }

    @Test("crypto_box_beforenm agrees with every Wycheproof X25519 vector, and refuses low order")
    func wycheproofCrossCheck() throws {
        let file = try WycheproofFile<WycheproofVectorTests.XDHGroup>.load("x25519_test")
        var agreed = 0
        var refused = 0
        for group in file.testGroups {
            for test in group.tests {
                let expected = [UInt8](hex: test.shared)
                if expected.allSatisfy({ $0 == 0 }) {
                    // A point of small order: the shared secret is zero, and nothing is sealed.
                    #expect(throws: CryptoError.self, "vector \(test.tcId)") {
                        try BatchBox.precompute(
                            secret: secret(test.private), publicKey: [UInt8](hex: test.public))
                    }
                    refused += 1
                    continue
                }
                let k = try BatchBox.precompute(
                    secret: secret(test.private), publicKey: [UInt8](hex: test.public))
                #expect(
                    k == (try BatchBox.hsalsa20(try SecretBytes(copying: expected))),
                    "vector \(test.tcId)")
                agreed += 1
            }
        }
        print("crypto_box_beforenm against Wycheproof X25519: \(agreed) agreed, \(refused) refused")
        #expect(agreed + refused == file.numberOfTests)
        #expect(agreed > 400 && refused > 10)
    }

    @Test("a box under a known key and nonce is NaCl's, and opens with one key agreement")
    func knownAnswer() throws {
        let ephemeral = try KeyAgreementPrivateKey(secret: secret(Self.alice))
        let bob = try KeyAgreementPrivateKey(secret: secret(Self.bob))
        #expect(bob.publicKey.bytes == [UInt8](hex: Self.bobPublic))
        let key = try BatchBoxKey(to: bob.publicKey, ephemeral: ephemeral)
        let message = try SecretBytes(copying: Array("a tutorial's data key".utf8))
        let sealed = try key.seal(message, nonce: [UInt8](hex: Self.nonce))
        // Computed independently (PyNaCl's crypto_box_afternm, the same keys and nonce).
        #expect(
            sealed
                == [UInt8](
                    hex: Self.nonce
                        + "34803747b6b241fc16d10dad94de010d51be102f008692cf6cee64dff9731bc17b3b80e823"
                ))
        let opened = try BatchBox.open(
            sealed[...], ephemeral: key.ephemeralPublicKey.bytes[...], with: bob)
        #expect(opened == message)
    }

    @Test("boxes of one batch share the ephemeral key, never a nonce, and open alone")
    func batch() throws {
        let bob = try KeyAgreementPrivateKey()
        let key = try BatchBoxKey(to: bob.publicKey)
        var nonces: Set<[UInt8]> = []
        for i in 0..<200 {
            let message = try SecretBytes(copying: [UInt8](repeating: UInt8(i), count: 32))
            let sealed = try key.seal(message)
            #expect(sealed.count == 24 + 16 + 32)
            nonces.insert(Array(sealed.prefix(24)))
            #expect(
                try BatchBox.open(
                    sealed[...], ephemeral: key.ephemeralPublicKey.bytes[...], with: bob)
                    == message)
        }
        #expect(nonces.count == 200)
        // Another batch to the same person has another ephemeral key.
        #expect(try BatchBoxKey(to: bob.publicKey).ephemeralPublicKey != key.ephemeralPublicKey)
    }

    @Test("a box altered anywhere, opened with another key, or under a low-order key is refused")
    func refusals() throws {
        let bob = try KeyAgreementPrivateKey()
        let key = try BatchBoxKey(to: bob.publicKey)
        let sealed = try key.seal(try SecretBytes(copying: [UInt8](repeating: 7, count: 40)))
        let ephemeral = key.ephemeralPublicKey.bytes
        for i in [0, 23, 24, 39, 40, sealed.count - 1] {
            var altered = sealed
            altered[i] ^= 1
            #expect(throws: CryptoError.authenticationFailed) {
                try BatchBox.open(altered[...], ephemeral: ephemeral[...], with: bob)
            }
        }
        var otherEphemeral = ephemeral
        otherEphemeral[5] ^= 1
        #expect(throws: CryptoError.authenticationFailed) {
            try BatchBox.open(sealed[...], ephemeral: otherEphemeral[...], with: bob)
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try BatchBox.open(
                sealed[...], ephemeral: ephemeral[...], with: try KeyAgreementPrivateKey())
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try BatchBox.open(sealed.prefix(39), ephemeral: ephemeral[...], with: bob)
        }
        // Zero is a point of small order: no key agreement, so nothing opens.
        #expect(throws: CryptoError.authenticationFailed) {
            try BatchBox.open(
                sealed[...], ephemeral: [UInt8](repeating: 0, count: 32)[...], with: bob)
        }
        #expect(throws: CryptoError.self) {
            try BatchBoxKey(to: try KeyAgreementPublicKey(bytes: [UInt8](repeating: 0, count: 32)))
        }
        // A wiped key seals nothing: a box under a zeroed key would be lost to its recipient.
        key.wipe()
        #expect(throws: CryptoError.keyWiped) { try key.seal(try SecretBytes(copying: [1])) }
    }
}
