import Foundation
public import TutelaCrypto

/// A person's second factor: the key their authenticator app shares (TOTP, RFC 6238: HMAC-SHA-1,
/// six digits, 30-second steps) and the hashes of the recovery codes they have not used. It is
/// kept inside their sealed identity, so only their passphrase opens it, and it goes where their
/// keys go (a passphrase change carries it; reissued keys start without it).
///
/// It guards signing in to a server: someone who learns a passphrase still needs the phone. It
/// is a check made after the unlock, not a key: someone who can also read the vault's files
/// needs only the passphrase (see SECURITY.md).
public struct SecondFactor: Sendable {
    /// The authenticator's key: 20 random bytes (160 bits, RFC 4226 §4's recommendation).
    let key: SecretBytes
    /// When it was enrolled (seconds since 1970 UTC).
    let enrolled: Int64
    /// BLAKE2b-256 hashes of the recovery codes not yet used.
    var recoveryCodes: [[UInt8]]

    static let keyByteCount = 20
    static let recoveryCodeCount = 10
    /// The steps either side of now a code is accepted from (clocks drift; typing takes time).
    static let window: UInt64 = 1

    /// A new random key for an authenticator app, not yet enrolled.
    public static func newKey() throws(TutelaError) -> SecretBytes {
        do { return try SecretBytes.random(count: keyByteCount) } catch {
            throw .internal("could not make a key: \(error)")
        }
    }

    /// `key` as an authenticator app takes it: in base32 to type in, and the `otpauth://`
    /// address a QR code shows. The key leaves protected memory here, once, into the text shown
    /// to the person; the one copy made on the way is wiped.
    public static func offer(key: SecretBytes, issuer: String, account: String) -> (
        secret: String, uri: String
    ) {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        func escape(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
        }
        var raw = key.unprotectedCopy()
        defer { for index in raw.indices { raw[index] = 0 } }
        let secret = Base32.encode(raw)
        let uri =
            "otpauth://totp/\(escape(issuer)):\(escape(account))?secret=\(secret)"
            + "&issuer=\(escape(issuer))&algorithm=SHA1&digits=6&period=30"
        return (secret, uri)
    }

    /// The step of a code from `key` that `code` is, at `time`, within the window and after
    /// `after` (a code once used is never accepted again); nil if none.
    static func step(
        of code: String, key: SecretBytes, at time: Int64, after: UInt64?
    ) throws(TutelaError) -> UInt64? {
        let digits = code.filter { $0 != " " }
        guard digits.count == 6, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber)
        else { return nil }
        let now = OneTimeCode.step(at: time)
        var found: UInt64?
        // Every step in the window is tried, whichever matches, so that timing says nothing.
        for step in now.subtractingClamped(window)...(now + window) {
            do {
                if try OneTimeCode.matches(digits, key: key, counter: step),
                    after.map({ step > $0 }) ?? true
                {
                    found = step
                }
            } catch { throw .internal("could not check the code: \(error)") }
        }
        return found
    }

    /// New recovery codes (ten groups of `xxxxx-xxxxx`, 50 random bits each) and their hashes.
    static func newRecoveryCodes(
        for principal: PrincipalID
    ) throws(TutelaError) -> (codes: [String], hashes: [[UInt8]]) {
        var codes: [String] = []
        var hashes: [[UInt8]] = []
        for _ in 0..<recoveryCodeCount {
            let random: [UInt8]
            do { random = try SecureRandom.bytes(count: 7) } catch {
                throw .internal("could not make a recovery code: \(error)")
            }
            let text = String(Base32.encode(random).lowercased().prefix(10))
            codes.append(text.prefix(5) + "-" + text.suffix(5))
            hashes.append(try recoveryHash(text, for: principal))
        }
        return (codes, hashes)
    }

    /// The hash a recovery code is kept as: case, spaces and hyphens do not matter.
    static func recoveryHash(_ code: String, for principal: PrincipalID) throws(TutelaError)
        -> [UInt8]
    {
        let normal = code.lowercased().filter { $0 != "-" && $0 != " " }
        do {
            return try BLAKE2b.hash(parts: [
                Array("tutela/recovery-code/v1".utf8), Array(principal.text.utf8),
                Array(normal.utf8),
            ])
        } catch { throw .internal("could not hash a recovery code: \(error)") }
    }

    /// Its bytes inside the sealed identity: u8 version 1 ‖ fixed(20) key ‖ i64 enrolled ‖
    /// u8 count ‖ count × fixed(32) recovery-code hash.
    func encoded() throws(CryptoError) -> SecretBytes {
        var head = CanonicalWriter()
        head.u8(1)
        var tail = CanonicalWriter()
        tail.i64(enrolled)
        tail.u8(UInt8(recoveryCodes.count))
        for hash in recoveryCodes { tail.fixed(hash) }
        return try SecretBytes(copying: head.bytes).appending(key).appending(
            SecretBytes(copying: tail.bytes))
    }

    init(key: SecretBytes, enrolled: Int64, recoveryCodes: [[UInt8]]) {
        self.key = key
        self.enrolled = enrolled
        self.recoveryCodes = recoveryCodes
    }

    /// Reads ``encoded()``.
    init(decoding bytes: SecretBytes) throws {
        let keyEnd = 1 + Self.keyByteCount
        guard bytes.count >= keyEnd + 9,
            bytes.withUnsafeBytes({ $0[0] }) == 1
        else { throw TutelaError.tampered("a sealed second factor is malformed") }
        key = try bytes.slice(1..<keyEnd)
        var reader = CanonicalReader(
            try bytes.slice(keyEnd..<bytes.count).unprotectedCopy(), context: "a second factor")
        enrolled = try reader.i64("enrolled")
        let count = Int(try reader.u8("count"))
        var codes: [[UInt8]] = []
        for _ in 0..<count { codes.append(try reader.fixed("recovery code", count: 32)) }
        recoveryCodes = codes
        try reader.finish()
    }
}

extension UInt64 {
    fileprivate func subtractingClamped(_ other: UInt64) -> UInt64 {
        self >= other ? self - other : 0
    }
}
