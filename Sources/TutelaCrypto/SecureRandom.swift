internal import CSodium

/// The system's cryptographically secure random source (`randombytes_buf`).
public enum SecureRandom {
    /// `count` random bytes for public values: nonces, salts, identifiers.
    /// For keys use ``SecretBytes/random(count:)``.
    public static func bytes(count: Int) throws(CryptoError) -> [UInt8] {
        try Sodium.ensureInitialized()
        var result = [UInt8](repeating: 0, count: count)
        result.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { randombytes_buf(base, buffer.count) }
        }
        return result
    }
}
