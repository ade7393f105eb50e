internal import CSodium

/// One-time codes from an authenticator app: HOTP (RFC 4226) and TOTP (RFC 6238) over HMAC-SHA-1,
/// -SHA-256 or -SHA-512, with the shared key in protected memory.
///
/// Every authenticator app speaks HMAC-SHA-1, which libsodium does not offer: SHA-1 is written out
/// here (FIPS 180-4). Its known collision attacks do not touch HMAC, whose security rests on the
/// compression function as a pseudorandom function (RFC 6194 §3.2).
public enum OneTimeCode {
    /// The HMAC hash a code is made with.
    public enum Algorithm: String, Sendable, CaseIterable {
        case sha1 = "SHA1"
        case sha256 = "SHA256"
        case sha512 = "SHA512"
    }

    /// The HOTP value of `counter` under `key`: `digits` decimal digits, zero-padded.
    /// - Throws: ``CryptoError/invalidLength(what:expected:actual:)`` for digits outside 6…10.
    public static func hotp(
        key: SecretBytes, counter: UInt64, digits: Int = 6, algorithm: Algorithm = .sha1
    ) throws(CryptoError) -> String {
        guard (6...10).contains(digits) else {
            throw .invalidLength(what: "a one-time code", expected: "6…10 digits", actual: digits)
        }
        var message = [UInt8](repeating: 0, count: 8)
        for index in 0..<8 {
            message[index] = UInt8(truncatingIfNeeded: counter >> (56 - 8 * index))
        }
        var mac = try HMAC.authenticate(message, key: key, algorithm: algorithm)
        defer { for index in mac.indices { mac[index] = 0 } }
        // Dynamic truncation (RFC 4226 §5.3).
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let binary =
            UInt64(mac[offset] & 0x7f) << 24 | UInt64(mac[offset + 1]) << 16
            | UInt64(mac[offset + 2]) << 8 | UInt64(mac[offset + 3])
        var modulus: UInt64 = 1
        for _ in 0..<digits { modulus *= 10 }
        let text = String(binary % modulus)
        return String(repeating: "0", count: digits - text.count) + text
    }

    /// The TOTP time step of `time` (seconds since 1970 UTC): `⌊time / period⌋`.
    public static func step(at time: Int64, period: Int64 = 30) -> UInt64 {
        UInt64(max(0, time) / max(1, period))
    }

    /// The TOTP value at `time` (seconds since 1970 UTC).
    public static func totp(
        key: SecretBytes, time: Int64, period: Int64 = 30, digits: Int = 6,
        algorithm: Algorithm = .sha1
    ) throws(CryptoError) -> String {
        try hotp(
            key: key, counter: step(at: time, period: period), digits: digits,
            algorithm: algorithm)
    }

    /// Whether `code` is the HOTP value of `counter`, compared in constant time.
    public static func matches(
        _ code: String, key: SecretBytes, counter: UInt64, digits: Int = 6,
        algorithm: Algorithm = .sha1
    ) throws(CryptoError) -> Bool {
        let expected = Array(
            try hotp(key: key, counter: counter, digits: digits, algorithm: algorithm).utf8)
        let given = Array(code.utf8)
        return given.count == expected.count && constantTimeEquals(given, expected)
    }
}

/// HMAC (RFC 2104) with the key in protected memory.
package enum HMAC {
    /// The HMAC of `message` under `key` with `algorithm`'s hash.
    /// - Throws: ``CryptoError/initializationFailed`` when libsodium cannot be used.
    package static func authenticate(
        _ message: [UInt8], key: SecretBytes, algorithm: OneTimeCode.Algorithm
    ) throws(CryptoError) -> [UInt8] {
        try Sodium.ensureInitialized()
        switch algorithm {
        case .sha1:
            return try sha1(message, key: key)
        case .sha256:
            return sodium(
                crypto_auth_hmacsha256_state(), 32, message, key, crypto_auth_hmacsha256_init,
                crypto_auth_hmacsha256_update, crypto_auth_hmacsha256_final)
        case .sha512:
            return sodium(
                crypto_auth_hmacsha512_state(), 64, message, key, crypto_auth_hmacsha512_init,
                crypto_auth_hmacsha512_update, crypto_auth_hmacsha512_final)
        }
    }

    /// libsodium's HMAC over one of its states (init, update, final), the state wiped after.
    private static func sodium<State>(
        _ initial: State, _ size: Int, _ message: [UInt8], _ key: SecretBytes,
        _ start: (UnsafeMutablePointer<State>, UnsafePointer<UInt8>, Int) -> Int32,
        _ update: (UnsafeMutablePointer<State>, UnsafePointer<UInt8>, UInt64) -> Int32,
        _ finish: (UnsafeMutablePointer<State>, UnsafeMutablePointer<UInt8>) -> Int32
    ) -> [UInt8] {
        var state = initial
        defer { sodium_memzero(&state, MemoryLayout<State>.size) }
        var out = [UInt8](repeating: 0, count: size)
        key.withBytePointer { k in _ = start(&state, k, key.count) }
        _ = update(&state, message, UInt64(message.count))
        _ = finish(&state, &out)
        return out
    }

    /// HMAC-SHA-1. The padded keys live in protected memory; the inner digest is wiped.
    static func sha1(_ message: [UInt8], key: SecretBytes) throws(CryptoError) -> [UInt8] {
        let block = 64
        // A key longer than a block is hashed first (RFC 2104 §2).
        let short: SecretBytes =
            key.count > block
            ? try SecretBytes(copying: key.withUnsafeBytes { SHA1.hash(Array($0)) }) : key
        let pads = try SecretBytes(zeroedCount: 2 * block)
        pads.withUnsafeMutableBytes { out in
            short.withUnsafeBytes { k in
                for index in 0..<block {
                    let byte = index < k.count ? k[index] : 0
                    out[index] = byte ^ 0x36
                    out[block + index] = byte ^ 0x5c
                }
            }
        }
        var inner = pads.withUnsafeBytes { p in
            var sha = SHA1()
            sha.update(UnsafeRawBufferPointer(rebasing: p[0..<block]))
            message.withUnsafeBytes { sha.update($0) }
            return sha.finish()
        }
        defer { for index in inner.indices { inner[index] = 0 } }
        return pads.withUnsafeBytes { p in
            var sha = SHA1()
            sha.update(UnsafeRawBufferPointer(rebasing: p[block..<(2 * block)]))
            inner.withUnsafeBytes { sha.update($0) }
            return sha.finish()
        }
    }
}

/// SHA-1 (FIPS 180-4 §6.1), only for HMAC-SHA-1 in one-time codes.
struct SHA1 {
    private var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (
        0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0
    )
    /// One block at most, its capacity fixed up front: appending never reallocates, so no copy of
    /// a keyed block is left behind unwiped.
    private var buffer: [UInt8]
    private var length: UInt64 = 0

    init() {
        buffer = []
        buffer.reserveCapacity(64)
    }

    static func hash(_ data: [UInt8]) -> [UInt8] {
        var sha = SHA1()
        data.withUnsafeBytes { sha.update($0) }
        return sha.finish()
    }

    mutating func update(_ data: UnsafeRawBufferPointer) {
        length &+= UInt64(data.count)
        for byte in data {
            buffer.append(byte)
            if buffer.count == 64 { compress() }
        }
    }

    mutating func finish() -> [UInt8] {
        let bits = length &* 8
        buffer.append(0x80)
        while buffer.count % 64 != 56 {
            buffer.append(0)
            if buffer.count == 64 { compress() }
        }
        for index in 0..<8 { buffer.append(UInt8(truncatingIfNeeded: bits >> (56 - 8 * index))) }
        compress()
        var out: [UInt8] = []
        for word in [h.0, h.1, h.2, h.3, h.4] {
            for shift in [24, 16, 8, 0] { out.append(UInt8(truncatingIfNeeded: word >> shift)) }
        }
        h = (0, 0, 0, 0, 0)
        return out
    }

    private mutating func compress() {
        var w = [UInt32](repeating: 0, count: 80)
        for index in 0..<16 {
            w[index] =
                UInt32(buffer[4 * index]) << 24 | UInt32(buffer[4 * index + 1]) << 16
                | UInt32(buffer[4 * index + 2]) << 8 | UInt32(buffer[4 * index + 3])
        }
        for index in 16..<80 {
            let x = w[index - 3] ^ w[index - 8] ^ w[index - 14] ^ w[index - 16]
            w[index] = x << 1 | x >> 31
        }
        var (a, b, c, d, e) = h
        for index in 0..<80 {
            let (f, k): (UInt32, UInt32)
            switch index {
            case 0..<20: (f, k) = ((b & c) | (~b & d), 0x5A82_7999)
            case 20..<40: (f, k) = (b ^ c ^ d, 0x6ED9_EBA1)
            case 40..<60: (f, k) = ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
            default: (f, k) = (b ^ c ^ d, 0xCA62_C1D6)
            }
            let t = (a << 5 | a >> 27) &+ f &+ e &+ k &+ w[index]
            (e, d, c, b, a) = (d, c, b << 30 | b >> 2, a, t)
        }
        h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
        for index in w.indices { w[index] = 0 }
        for index in buffer.indices { buffer[index] = 0 }
        buffer.removeAll(keepingCapacity: true)
    }
}

/// Base32 (RFC 4648 §6), the form authenticator apps take a key in: upper case, no padding.
package enum Base32 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    /// `bytes` in base32 without padding.
    package static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var bits: UInt32 = 0
        var count = 0
        for byte in bytes {
            bits = bits << 8 | UInt32(byte)
            count += 8
            while count >= 5 {
                out.append(alphabet[Int(bits >> UInt32(count - 5) & 31)])
                count -= 5
            }
        }
        if count > 0 { out.append(alphabet[Int(bits << UInt32(5 - count) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of base32 `text` (case, spaces and padding ignored); nil for any other character.
    package static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var bits: UInt32 = 0
        var count = 0
        for scalar in text.uppercased().utf8 where scalar != UInt8(ascii: " ") {
            if scalar == UInt8(ascii: "=") { continue }
            guard let value = alphabet.firstIndex(of: scalar) else { return nil }
            bits = bits << 5 | UInt32(value)
            count += 5
            if count >= 8 {
                out.append(UInt8(truncatingIfNeeded: bits >> UInt32(count - 8)))
                count -= 8
            }
        }
        return out
    }
}
