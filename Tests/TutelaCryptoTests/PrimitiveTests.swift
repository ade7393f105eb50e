import Foundation
import Testing

@testable import TutelaCrypto

@Suite("Secret memory")
struct SecretBytesTests {
    @Test("bytes are copied in, readable only through the closure, and never printed")
    func redactedAndReadable() throws {
        let secret = try SecretBytes(copying: Array("correct horse battery".utf8))
        #expect(secret.count == 21)
        #expect(secret.unprotectedCopy() == Array("correct horse battery".utf8))
        for text in [secret.description, secret.debugDescription, String(reflecting: secret)] {
            #expect(!text.contains("horse"))
            #expect(text.contains("redacted"))
        }
        var dumped = ""
        dump(secret, to: &dumped)
        #expect(!dumped.contains("horse"))
        #expect(Mirror(reflecting: secret).children.isEmpty)
    }

    @Test("wipe overwrites every byte with zero")
    func wipe() throws {
        let secret = try SecretBytes.random(count: 64)
        secret.wipe()
        #expect(secret.withUnsafeBytes { $0.allSatisfy { $0 == 0 } })
        #expect(secret.count == 64)
    }

    @Test("equality is by content and length")
    func equality() throws {
        let a = try SecretBytes(copying: [1, 2, 3])
        #expect(a == (try SecretBytes(copying: [1, 2, 3])))
        #expect(a != (try SecretBytes(copying: [1, 2, 4])))
        #expect(a != (try SecretBytes(copying: [1, 2])))
        #expect((try SecretBytes(zeroedCount: 0)) == (try SecretBytes(zeroedCount: 0)))
    }

    @Test("random secrets differ and slices and appends copy exactly")
    func randomSliceAppend() throws {
        let a = try SecretBytes.random(count: 32)
        let b = try SecretBytes.random(count: 32)
        #expect(a != b)
        let joined = try a.appending(b)
        #expect(try joined.slice(0..<32) == a)
        #expect(try joined.slice(32..<64) == b)
    }
}

@Suite("XChaCha20-Poly1305")
struct AEADTests {
    @Test("round trip with a fresh nonce each time")
    func roundTrip() throws {
        let key = try XChaCha20Poly1305.generateKey()
        let plaintext = try SecretBytes(copying: Array("tutorial notes".utf8))
        let first = try XChaCha20Poly1305.seal(plaintext, key: key, authenticating: [7])
        let second = try XChaCha20Poly1305.seal(plaintext, key: key, authenticating: [7])
        #expect(first.nonce != second.nonce)
        #expect(first.ciphertext != second.ciphertext)
        #expect(try XChaCha20Poly1305.open(first, key: key, authenticating: [7]) == plaintext)
    }

    @Test("a wrong key, changed associated data or any flipped byte is refused")
    func tamper() throws {
        let key = try XChaCha20Poly1305.generateKey()
        let sealed = try XChaCha20Poly1305.seal(
            SecretBytes(copying: [1, 2, 3, 4]), key: key, authenticating: [9, 9])
        #expect(throws: CryptoError.authenticationFailed) {
            try XChaCha20Poly1305.open(
                sealed, key: XChaCha20Poly1305.generateKey(), authenticating: [9, 9])
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try XChaCha20Poly1305.open(sealed, key: key, authenticating: [9, 8])
        }
        for i in sealed.ciphertext.indices {
            var bytes = sealed.ciphertext
            bytes[i] ^= 0x01
            let altered = XChaCha20Poly1305.SealedMessage(nonce: sealed.nonce, ciphertext: bytes)
            #expect(throws: CryptoError.authenticationFailed) {
                try XChaCha20Poly1305.open(altered, key: key, authenticating: [9, 9])
            }
        }
        for i in sealed.nonce.indices {
            var nonce = sealed.nonce
            nonce[i] ^= 0x80
            let altered = XChaCha20Poly1305.SealedMessage(
                nonce: nonce, ciphertext: sealed.ciphertext)
            #expect(throws: CryptoError.authenticationFailed) {
                try XChaCha20Poly1305.open(altered, key: key, authenticating: [9, 9])
            }
        }
    }

    @Test("keys of the wrong length are refused with a typed error")
    func badKey() throws {
        #expect(throws: CryptoError.self) {
            try XChaCha20Poly1305.seal(
                SecretBytes(copying: [1]), key: SecretBytes.random(count: 16), authenticating: [])
        }
    }
}

@Suite("X25519 sealed boxes")
struct SealedBoxTests {
    @Test("only the recipient opens; a flipped byte is refused")
    func sealedBox() throws {
        let alice = try KeyAgreementPrivateKey()
        let mallory = try KeyAgreementPrivateKey()
        let message = try SecretBytes.random(count: 40)
        let box = try SealedBox.seal(message, to: alice.publicKey)
        #expect(box.count == 40 + SealedBox.overhead)
        #expect(try SealedBox.open(box, with: alice) == message)
        #expect(throws: CryptoError.authenticationFailed) { try SealedBox.open(box, with: mallory) }
        for i in box.indices {
            var altered = box
            altered[i] ^= 0x04
            #expect(throws: CryptoError.authenticationFailed) {
                try SealedBox.open(altered, with: alice)
            }
        }
        #expect(throws: CryptoError.authenticationFailed) {
            try SealedBox.open(Array(box.prefix(10)), with: alice)
        }
    }

    @Test("a key restored from its secret has the same public key")
    func restore() throws {
        let key = try KeyAgreementPrivateKey()
        let restored = try KeyAgreementPrivateKey(
            secret: SecretBytes(copying: key.secret.unprotectedCopy()))
        #expect(restored.publicKey == key.publicKey)
    }
}

@Suite("Ed25519")
struct SigningTests {
    @Test("sign and verify; another message, key or flipped bit fails")
    func signVerify() throws {
        let key = try SigningPrivateKey()
        let other = try SigningPrivateKey()
        let message = Array("enrol T-01 as tutor".utf8)
        let signature = try key.sign(message)
        try key.publicKey.verify(signature, for: message)
        #expect(throws: CryptoError.invalidSignature) {
            try key.publicKey.verify(signature, for: Array("enrol T-01 as admin".utf8))
        }
        #expect(throws: CryptoError.invalidSignature) {
            try other.publicKey.verify(signature, for: message)
        }
        var flipped = signature
        flipped[10] ^= 1
        #expect(throws: CryptoError.invalidSignature) {
            try key.publicKey.verify(flipped, for: message)
        }
        #expect(throws: CryptoError.invalidSignature) {
            try key.publicKey.verify(Array(signature.prefix(63)), for: message)
        }
    }

    @Test("the seed alone restores the same key")
    func seedRestores() throws {
        let key = try SigningPrivateKey()
        let restored = try SigningPrivateKey(seed: SecretBytes(copying: key.seed.unprotectedCopy()))
        #expect(restored.publicKey == key.publicKey)
        #expect(try restored.sign([1, 2, 3]) == key.sign([1, 2, 3]))
    }
}

@Suite("Argon2id")
struct PasswordKDFTests {
    @Test("same passphrase and salt give the same key; any change gives another")
    func deterministic() throws {
        let cost = PasswordKDF.Profile.interactive.cost
        let salt = try PasswordKDF.generateSalt()
        let pass = try SecretBytes(copying: Array("a long passphrase here".utf8))
        let a = try PasswordKDF.deriveKey(passphrase: pass, salt: salt, cost: cost)
        let b = try PasswordKDF.deriveKey(passphrase: pass, salt: salt, cost: cost)
        #expect(a == b)
        #expect(a.count == 32)
        let otherSalt = try PasswordKDF.generateSalt()
        #expect(try PasswordKDF.deriveKey(passphrase: pass, salt: otherSalt, cost: cost) != a)
        let otherPass = try SecretBytes(copying: Array("a long passphrase herE".utf8))
        #expect(try PasswordKDF.deriveKey(passphrase: otherPass, salt: salt, cost: cost) != a)
    }

    @Test("profiles grow in cost and stay within the accepted range")
    func profiles() throws {
        let costs = PasswordKDF.Profile.allCases.map(\.cost)
        #expect(costs.map(\.memLimit) == costs.map(\.memLimit).sorted())
        #expect(costs[0].memLimit == 64 << 20)
        for cost in costs {
            #expect(throws: Never.self) {
                try PasswordKDF.Cost(opsLimit: cost.opsLimit, memLimit: cost.memLimit)
            }
        }
    }

    @Test("a stored cost outside interactive…sensitive is refused before any work is done")
    func caps() throws {
        let high = PasswordKDF.Cost.maximum
        let low = PasswordKDF.Cost.minimum
        let refused: [(UInt64, UInt64)] = [
            (high.opsLimit + 1, high.memLimit), (high.opsLimit, high.memLimit * 2),
            (UInt64.max, UInt64.max), (low.opsLimit - 1, low.memLimit), (low.opsLimit, 1024),
        ]
        for (ops, mem) in refused {
            #expect(throws: CryptoError.costOutOfRange(opsLimit: ops, memLimit: mem)) {
                try PasswordKDF.Cost(opsLimit: ops, memLimit: mem)
            }
        }
    }

    @Test("a salt of the wrong length is refused")
    func badSalt() throws {
        #expect(throws: CryptoError.self) {
            try PasswordKDF.deriveKey(
                passphrase: SecretBytes(copying: [1]), salt: [1, 2, 3],
                cost: PasswordKDF.Profile.interactive.cost)
        }
    }
}

@Suite("BLAKE2b")
struct HashingTests {
    // Expected values from RFC 7693 Appendix A and the BLAKE2 reference KAT (keyed, empty input),
    // cross-checked with Python's hashlib.
    @Test("known answers, plain and keyed")
    func knownAnswers() throws {
        #expect(
            try BLAKE2b.hash(Array("abc".utf8), outputByteCount: 64)
                == [UInt8](
                    hex: "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
                        + "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"))
        let key64 = try SecretBytes(copying: (0..<64).map { UInt8($0) })
        #expect(
            try BLAKE2b.hash([], outputByteCount: 64, key: key64)
                == [UInt8](
                    hex: "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786"
                        + "b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568"))
        #expect(
            try BLAKE2b.hash(Array("Tutela".utf8))
                == [UInt8](hex: "91916f42ca5dcf59d89140f883b0a202f474da89d8443defd8246dbd24ba7443"))
        let key32 = try SecretBytes(copying: (0..<32).map { UInt8($0) })
        #expect(
            try BLAKE2b.hash(Array("Tutela".utf8), key: key32)
                == [UInt8](hex: "0f08c38f02bd6a94d838d1f6c9d5a43e5c9cd846775fdfe61266203f80d9cd17"))
    }

    @Test("hashing parts equals hashing their concatenation")
    func parts() throws {
        #expect(
            try BLAKE2b.hash(parts: [Array("Tu".utf8), [], Array("tela".utf8)])
                == BLAKE2b.hash(Array("Tutela".utf8)))
    }

    @Test("output and key sizes outside 16…64 are refused")
    func sizes() throws {
        #expect(throws: CryptoError.self) { try BLAKE2b.hash([], outputByteCount: 8) }
        #expect(throws: CryptoError.self) { try BLAKE2b.hash([], outputByteCount: 65) }
        #expect(throws: CryptoError.self) {
            try BLAKE2b.hash([], key: SecretBytes.random(count: 8))
        }
    }
}

@Suite("Secret regions")
struct SecretRegionTests {
    @Test("a released secret's region is wiped before it is handed out again, at every size")
    func wipedOnReuse() throws {
        for count in [0, 1, 32, 63, 64, 65, 1000, 4096, 16_384, 16_385, 70_000] {
            var secret: SecretBytes? = try SecretBytes(
                count: count,
                initializingWith: { buffer in
                    for i in buffer.indices { buffer[i] = 0xA5 }
                })
            #expect(secret?.count == count)
            secret = nil
            for _ in 0..<4 {
                let next = try SecretBytes(zeroedCount: count)
                #expect(next.withUnsafeBytes { $0.allSatisfy { $0 == 0 } })
                #expect(next.count == count)
            }
        }
    }

    @Test("many tasks taking and releasing secrets at once never share or lose one")
    func concurrent() async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for task in 0..<8 {
                group.addTask {
                    var ok = true
                    for round in 0..<500 {
                        let byte = UInt8(truncatingIfNeeded: task &* 31 &+ round)
                        let a = try SecretBytes(
                            copying: [UInt8](repeating: byte, count: 32 + round % 300))
                        let b = try SecretBytes(copying: [UInt8](repeating: ~byte, count: 32))
                        ok =
                            ok && a.withUnsafeBytes { $0.allSatisfy { $0 == byte } }
                            && b.withUnsafeBytes { $0.allSatisfy { $0 == ~byte } }
                    }
                    return ok
                }
            }
            for try await ok in group { #expect(ok) }
        }
    }
}
