import Foundation
import Testing

@testable import TutelaCrypto

/// The published vectors of each standard the second factor rests on: SHA-1 (FIPS 180-4 examples),
/// HMAC-SHA-1 (RFC 2202), HOTP (RFC 4226 appendix D), TOTP (RFC 6238 appendix B), base32
/// (RFC 4648 §10).
@Suite("One-time codes")
struct OneTimeCodeTests {
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    @Test("SHA-1 of the standard's examples, including a million a's across many blocks")
    func sha1() {
        #expect(Self.hex(SHA1.hash([])) == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(
            Self.hex(SHA1.hash(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(
            Self.hex(
                SHA1.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
        #expect(
            Self.hex(SHA1.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)))
                == "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }

    @Test("HMAC-SHA-1 of RFC 2202's cases, including a key longer than a block")
    func hmacSHA1() throws {
        let cases: [([UInt8], String, String)] = [
            (
                [UInt8](repeating: 0x0b, count: 20), "Hi There",
                "b617318655057264e28bc0b6fb378c8ef146be00"
            ),
            (
                Array("Jefe".utf8), "what do ya want for nothing?",
                "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
            ),
            (
                [UInt8](repeating: 0xaa, count: 80),
                "Test Using Larger Than Block-Size Key - Hash Key First",
                "aa4ae5e15272d00e95705637ce8a3b55ed402112"
            ),
        ]
        for (key, message, mac) in cases {
            let secret = try SecretBytes(copying: key)
            #expect(
                Self.hex(try HMAC.authenticate(Array(message.utf8), key: secret, algorithm: .sha1))
                    == mac)
        }
    }

    @Test("HOTP of RFC 4226 appendix D, counters 0 to 9")
    func hotp() throws {
        let key = try SecretBytes(copying: Array("12345678901234567890".utf8))
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ]
        for (counter, code) in expected.enumerated() {
            #expect(try OneTimeCode.hotp(key: key, counter: UInt64(counter)) == code)
            #expect(try OneTimeCode.matches(code, key: key, counter: UInt64(counter)))
            #expect(try !OneTimeCode.matches(code, key: key, counter: UInt64(counter + 1)))
        }
    }

    @Test("TOTP of RFC 6238 appendix B: every time, with SHA-1, SHA-256 and SHA-512, 8 digits")
    func totp() throws {
        let seeds: [OneTimeCode.Algorithm: String] = [
            .sha1: "12345678901234567890",
            .sha256: "12345678901234567890123456789012",
            .sha512: "1234567890123456789012345678901234567890123456789012345678901234",
        ]
        let table: [(Int64, [OneTimeCode.Algorithm: String])] = [
            (59, [.sha1: "94287082", .sha256: "46119246", .sha512: "90693936"]),
            (1_111_111_109, [.sha1: "07081804", .sha256: "68084774", .sha512: "25091201"]),
            (1_111_111_111, [.sha1: "14050471", .sha256: "67062674", .sha512: "99943326"]),
            (1_234_567_890, [.sha1: "89005924", .sha256: "91819424", .sha512: "93441116"]),
            (2_000_000_000, [.sha1: "69279037", .sha256: "90698825", .sha512: "38618901"]),
            (20_000_000_000, [.sha1: "65353130", .sha256: "77737706", .sha512: "47863826"]),
        ]
        var checked = 0
        for (time, codes) in table {
            for (algorithm, code) in codes {
                let key = try SecretBytes(copying: Array(try #require(seeds[algorithm]).utf8))
                #expect(
                    try OneTimeCode.totp(key: key, time: time, digits: 8, algorithm: algorithm)
                        == code, "\(algorithm) at \(time)")
                checked += 1
            }
        }
        #expect(checked == 18)
        // Steps are 30 s from 1970: 59 s is step 1, and a negative time is step 0.
        #expect(OneTimeCode.step(at: 59) == 1)
        #expect(OneTimeCode.step(at: -5) == 0)
    }

    @Test("a code of fewer than 6 or more than 10 digits is refused")
    func digits() throws {
        let key = try SecretBytes.random(count: 20)
        #expect(throws: CryptoError.self) { try OneTimeCode.hotp(key: key, counter: 0, digits: 5) }
        #expect(throws: CryptoError.self) { try OneTimeCode.hotp(key: key, counter: 0, digits: 11) }
        #expect(try OneTimeCode.hotp(key: key, counter: 0, digits: 10).count == 10)
    }

    @Test("base32 of RFC 4648's examples, and back")
    func base32() {
        let cases = [
            ("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"), ("foobar", "MZXW6YTBOI"),
        ]
        for (plain, encoded) in cases {
            #expect(Base32.encode(Array(plain.utf8)) == encoded)
            #expect(Base32.decode(encoded) == Array(plain.utf8))
        }
        #expect(Base32.decode("mzxw 6ytb oi======") == Array("foobar".utf8))
        #expect(Base32.decode("MZXW1") == nil, "1 is not a base32 digit")
    }
}
