import Foundation
import Testing

@testable import TutelaCrypto

@Suite("Wycheproof vectors")
struct WycheproofVectorTests {
    struct AEADGroup: Decodable {
        let ivSize: Int
        let keySize: Int
        let tagSize: Int
        let tests: [AEADTest]
    }
    struct AEADTest: Decodable {
        let tcId: Int
        let key: String
        let iv: String
        let aad: String
        let msg: String
        let ct: String
        let tag: String
        let result: String
    }

    @Test("XChaCha20-Poly1305: valid vectors seal and open exactly, invalid ones are rejected")
    func xchacha20Poly1305() throws {
        let file = try WycheproofFile<AEADGroup>.load("xchacha20_poly1305_test")
        var tally = VectorTally(name: "XChaCha20-Poly1305")
        for group in file.testGroups {
            for test in group.tests {
                let key = try secret(test.key)
                let nonce = [UInt8](hex: test.iv)
                let aad = [UInt8](hex: test.aad)
                let sealed = [UInt8](hex: test.ct) + [UInt8](hex: test.tag)
                let message = XChaCha20Poly1305.SealedMessage(nonce: nonce, ciphertext: sealed)
                let outcome: VectorOutcome
                do {
                    let opened = try XChaCha20Poly1305.open(message, key: key, authenticating: aad)
                    // A match must also be reproduced exactly by sealing with its nonce.
                    let resealed = try XChaCha20Poly1305.seal(
                        secret(test.msg), key: key, nonce: nonce, authenticating: aad)
                    outcome =
                        opened.unprotectedCopy() == [UInt8](hex: test.msg)
                            && resealed.ciphertext == sealed ? .matched : .mismatched
                } catch {
                    outcome = .threw
                }
                tally.record(id: test.tcId, result: test.result, outcome)
            }
        }
        tally.report(expectedTotal: file.numberOfTests)
    }

    struct XDHGroup: Decodable {
        let tests: [XDHTest]
    }
    struct XDHTest: Decodable {
        let tcId: Int
        let `public`: String
        let `private`: String
        let shared: String
        let result: String
        let flags: [String]
    }

    @Test("X25519 (crypto_scalarmult): valid vectors give the exact shared secret")
    func x25519() throws {
        let file = try WycheproofFile<XDHGroup>.load("x25519_test")
        var tally = VectorTally(name: "X25519")
        for group in file.testGroups {
            for test in group.tests {
                let outcome: VectorOutcome
                do {
                    let shared = try X25519.sharedSecret(
                        privateKey: secret(test.private), publicKey: [UInt8](hex: test.public))
                    outcome =
                        shared.unprotectedCopy() == [UInt8](hex: test.shared)
                        ? .matched : .mismatched
                } catch {
                    // libsodium refuses an all-zero result; Wycheproof marks those "acceptable".
                    // Only an all-zero expected result may be refused.
                    outcome =
                        [UInt8](hex: test.shared).allSatisfy { $0 == 0 } ? .threw : .mismatched
                }
                tally.record(id: test.tcId, result: test.result, outcome)
            }
        }
        tally.report(expectedTotal: file.numberOfTests)
    }

    @Test("a published X25519 key of small order is refused; every other vector key is accepted")
    func smallOrderPublicKeys() throws {
        let file = try WycheproofFile<XDHGroup>.load("x25519_test")
        var refused = 0
        var accepted = 0
        for group in file.testGroups {
            for test in group.tests {
                let key = [UInt8](hex: test.public)
                // A shared secret of zero with a vector's (arbitrary) private key: small order.
                let smallOrder = [UInt8](hex: test.shared).allSatisfy { $0 == 0 }
                // Little-endian u at least 2^255 − 19, or the top bit set: not canonical.
                let canonical =
                    key[31] & 0x80 == 0
                    && !(key[31] == 0x7f && key[1...30].allSatisfy { $0 == 0xff } && key[0] >= 0xed)
                if smallOrder || !canonical {
                    #expect(
                        throws: CryptoError.self, "vector \(test.tcId)",
                        performing: { try KeyAgreementPublicKey(validating: key) })
                    refused += 1
                } else {
                    #expect(throws: Never.self) { try KeyAgreementPublicKey(validating: key) }
                    accepted += 1
                }
            }
        }
        print(
            "X25519 published keys: \(refused) of small order or not canonical refused, "
                + "\(accepted) accepted")
        #expect(refused > 10 && accepted > 100)
        // A key made by `crypto_box_keypair` is always accepted.
        let made = try KeyAgreementPrivateKey().publicKey.bytes
        #expect(throws: Never.self) { try KeyAgreementPublicKey(validating: made) }
        // The same point with the top bit set is refused, not taken for a new key.
        var flipped = made
        flipped[31] |= 0x80
        #expect(throws: CryptoError.self) { try KeyAgreementPublicKey(validating: flipped) }
    }

    struct EdDSAGroup: Decodable {
        struct Key: Decodable { let pk: String }
        let publicKey: Key
        let tests: [EdDSATest]
    }
    struct EdDSATest: Decodable {
        let tcId: Int
        let msg: String
        let sig: String
        let result: String
    }

    @Test("Ed25519: valid signatures verify, invalid ones are rejected")
    func ed25519() throws {
        let file = try WycheproofFile<EdDSAGroup>.load("ed25519_test")
        var tally = VectorTally(name: "Ed25519 verify")
        for group in file.testGroups {
            let key = try SigningPublicKey(bytes: [UInt8](hex: group.publicKey.pk))
            for test in group.tests {
                let outcome: VectorOutcome
                do {
                    try key.verify([UInt8](hex: test.sig), for: [UInt8](hex: test.msg))
                    outcome = .matched
                } catch {
                    outcome = .threw
                }
                tally.record(id: test.tcId, result: test.result, outcome)
            }
        }
        tally.report(expectedTotal: file.numberOfTests)
    }

    struct MACGroup: Decodable {
        let keySize: Int
        let tagSize: Int
        let tests: [MACTest]
    }
    struct MACTest: Decodable {
        let tcId: Int
        let key: String
        let msg: String
        let tag: String
        let result: String
    }

    @Test("HMAC-SHA-256: full and truncated tags verify exactly; altered tags are rejected")
    func hmacSHA256() throws {
        let file = try WycheproofFile<MACGroup>.load("hmac_sha256_test")
        var tally = VectorTally(name: "HMAC-SHA-256")
        for group in file.testGroups {
            for test in group.tests {
                let key = try secret(test.key)
                let message = [UInt8](hex: test.msg)
                let tag = [UInt8](hex: test.tag)
                let outcome: VectorOutcome
                do {
                    try HMACSHA256.verify(tag, for: message, key: key)
                    let full = try HMACSHA256.authenticate(message, key: key)
                    outcome = Array(full.prefix(group.tagSize / 8)) == tag ? .matched : .mismatched
                } catch {
                    outcome = .threw
                }
                tally.record(id: test.tcId, result: test.result, outcome)
            }
        }
        tally.report(expectedTotal: file.numberOfTests)
    }

    struct HKDFGroup: Decodable {
        let tests: [HKDFTest]
    }
    struct HKDFTest: Decodable {
        let tcId: Int
        let ikm: String
        let salt: String
        let info: String
        let size: Int
        let okm: String
        let result: String
    }

    @Test("HKDF-SHA-256: valid vectors give the exact output; over-long outputs are refused")
    func hkdfSHA256() throws {
        let file = try WycheproofFile<HKDFGroup>.load("hkdf_sha256_test")
        var tally = VectorTally(name: "HKDF-SHA-256")
        for group in file.testGroups {
            for test in group.tests {
                let outcome: VectorOutcome
                do {
                    let okm = try HKDFSHA256.deriveKey(
                        inputKeyMaterial: secret(test.ikm), salt: [UInt8](hex: test.salt),
                        info: [UInt8](hex: test.info), outputByteCount: test.size)
                    outcome =
                        okm.unprotectedCopy() == [UInt8](hex: test.okm) ? .matched : .mismatched
                } catch CryptoError.outputLengthOutOfRange {
                    outcome = .threw
                }
                tally.record(id: test.tcId, result: test.result, outcome)
            }
        }
        tally.report(expectedTotal: file.numberOfTests)
    }
}
