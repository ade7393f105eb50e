internal import CSodium

/// Argon2id passphrase key derivation (`crypto_pwhash`, algorithm Argon2id v1.3).
public enum PasswordKDF {
    /// A salt is 16 bytes.
    public static let saltByteCount = 16
    /// ``deriveKey(passphrase:salt:cost:)`` always returns a 32-byte key.
    public static let keyByteCount = 32

    /// A named cost profile, chosen once per vault at `init`.
    public enum Profile: String, CaseIterable, Sendable, Codable {
        /// About 64 MiB and 2 passes: for tests and low-powered machines.
        case interactive
        /// About 256 MiB and 3 passes: the default.
        case moderate
        /// About 1 GiB and 4 passes: for an authority key kept offline.
        case sensitive

        /// The profile's operations and memory limits, as libsodium defines them.
        public var cost: Cost {
            switch self {
            case .interactive:
                return Cost(
                    unchecked: UInt64(crypto_pwhash_opslimit_interactive()),
                    UInt64(crypto_pwhash_memlimit_interactive()))
            case .moderate:
                return Cost(
                    unchecked: UInt64(crypto_pwhash_opslimit_moderate()),
                    UInt64(crypto_pwhash_memlimit_moderate()))
            case .sensitive:
                return Cost(
                    unchecked: UInt64(crypto_pwhash_opslimit_sensitive()),
                    UInt64(crypto_pwhash_memlimit_sensitive()))
            }
        }
    }

    /// An Argon2id cost. Any cost read back from storage must pass through
    /// ``init(opsLimit:memLimit:)``, which refuses values outside the interactive…sensitive range: a
    /// tampered file can neither demand unbounded work nor quietly weaken a new wrapping.
    public struct Cost: Sendable, Equatable, Hashable {
        /// How many passes Argon2id makes over its memory (libsodium's `opslimit`).
        public let opsLimit: UInt64
        /// How much memory Argon2id uses, in bytes (libsodium's `memlimit`).
        public let memLimit: UInt64

        /// The weakest cost accepted: the interactive profile.
        public static var minimum: Cost { Profile.interactive.cost }
        /// The strongest cost accepted: the sensitive profile.
        public static var maximum: Cost { Profile.sensitive.cost }

        /// Validates a cost read from storage.
        /// - Throws: ``CryptoError/costOutOfRange(opsLimit:memLimit:)``.
        public init(opsLimit: UInt64, memLimit: UInt64) throws(CryptoError) {
            let low = Cost.minimum
            let high = Cost.maximum
            guard (low.opsLimit...high.opsLimit).contains(opsLimit),
                (low.memLimit...high.memLimit).contains(memLimit)
            else { throw .costOutOfRange(opsLimit: opsLimit, memLimit: memLimit) }
            self.opsLimit = opsLimit
            self.memLimit = memLimit
        }

        fileprivate init(unchecked opsLimit: UInt64, _ memLimit: UInt64) {
            self.opsLimit = opsLimit
            self.memLimit = memLimit
        }
    }

    /// A fresh random 16-byte salt.
    public static func generateSalt() throws(CryptoError) -> [UInt8] {
        try SecureRandom.bytes(count: saltByteCount)
    }

    /// Derives a 32-byte key from a passphrase.
    /// - Parameters:
    ///   - passphrase: the passphrase bytes (UTF-8), in protected memory.
    ///   - salt: 16 bytes.
    ///   - cost: a validated cost.
    /// - Returns: the key, in protected memory.
    /// - Throws: ``CryptoError/keyDerivationFailed`` if the memory could not be reserved.
    public static func deriveKey(
        passphrase: SecretBytes, salt: [UInt8], cost: Cost
    ) throws(CryptoError) -> SecretBytes {
        try Sodium.ensureInitialized()
        try checkLength("an Argon2id salt", salt.count, saltByteCount)
        let key = try SecretBytes(zeroedCount: keyByteCount)
        let status = key.withMutableBytePointer { out in
            passphrase.withBytePointer { pw in
                pw.withMemoryRebound(to: CChar.self, capacity: Swift.max(passphrase.count, 1)) {
                    chars in
                    crypto_pwhash(
                        out, UInt64(keyByteCount), chars, UInt64(passphrase.count),
                        salt, cost.opsLimit, Int(cost.memLimit), crypto_pwhash_alg_argon2id13())
                }
            }
        }
        guard status == 0 else { throw .keyDerivationFailed }
        return key
    }
}
