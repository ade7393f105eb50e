internal import CSodium

/// BLAKE2b (`crypto_generichash`), plain and keyed.
public enum BLAKE2b {
    /// The shortest hash ``hash(parts:outputByteCount:key:)`` produces, in bytes.
    public static let minimumOutputByteCount = 16
    /// The longest hash ``hash(parts:outputByteCount:key:)`` produces, in bytes.
    public static let maximumOutputByteCount = 64
    /// The shortest key accepted for a keyed hash, in bytes.
    public static let minimumKeyByteCount = 16
    /// The longest key accepted for a keyed hash, in bytes.
    public static let maximumKeyByteCount = 64

    /// The hash of the concatenation of `parts`, without building the concatenation.
    /// - Parameters:
    ///   - parts: the input, in order.
    ///   - outputByteCount: 16…64, default 32 (BLAKE2b-256).
    ///   - key: nil for a plain hash, or a 16…64-byte key for a keyed hash (a MAC or PRF).
    /// - Throws: ``CryptoError/invalidLength(what:expected:actual:)`` for a bad size.
    public static func hash(
        parts: [[UInt8]], outputByteCount: Int = 32, key: SecretBytes? = nil
    ) throws(CryptoError) -> [UInt8] {
        try Sodium.ensureInitialized()
        guard (minimumOutputByteCount...maximumOutputByteCount).contains(outputByteCount) else {
            throw .invalidLength(
                what: "a BLAKE2b output", expected: "16…64", actual: outputByteCount)
        }
        if let key, !(minimumKeyByteCount...maximumKeyByteCount).contains(key.count) {
            throw .invalidLength(what: "a BLAKE2b key", expected: "16…64", actual: key.count)
        }
        // The state is a 64-byte-aligned opaque struct that Swift imports only as a pointer.
        let stateSize = crypto_generichash_statebytes()
        let storage = UnsafeMutableRawPointer.allocate(byteCount: stateSize, alignment: 64)
        defer {
            sodium_memzero(storage, stateSize)
            storage.deallocate()
        }
        let state = OpaquePointer(storage)
        let initStatus: Int32
        if let key {
            initStatus = key.withBytePointer { k in
                crypto_generichash_init(state, k, key.count, outputByteCount)
            }
        } else {
            initStatus = crypto_generichash_init(state, nil, 0, outputByteCount)
        }
        guard initStatus == 0 else { throw .initializationFailed }
        for part in parts {
            guard crypto_generichash_update(state, part, UInt64(part.count)) == 0 else {
                throw .initializationFailed
            }
        }
        var output = [UInt8](repeating: 0, count: outputByteCount)
        guard crypto_generichash_final(state, &output, outputByteCount) == 0 else {
            throw .initializationFailed
        }
        return output
    }

    /// The hash of `data` (see ``hash(parts:outputByteCount:key:)``).
    public static func hash(
        _ data: [UInt8], outputByteCount: Int = 32, key: SecretBytes? = nil
    ) throws(CryptoError) -> [UInt8] {
        try hash(parts: [data], outputByteCount: outputByteCount, key: key)
    }
}

extension BLAKE2b {
    /// The keyed BLAKE2b-256 of `content` under `key` (16…64 bytes), neither copied out of
    /// protected memory: a hiding commitment to secret content when the key is fresh and random.
    public static func commitment(
        to content: SecretBytes, key: SecretBytes
    ) throws(CryptoError) -> [UInt8] {
        try Sodium.ensureInitialized()
        guard (minimumKeyByteCount...maximumKeyByteCount).contains(key.count) else {
            throw .invalidLength(what: "a BLAKE2b key", expected: "16…64", actual: key.count)
        }
        var output = [UInt8](repeating: 0, count: 32)
        let status = content.withBytePointer { c in
            key.withBytePointer { k in
                crypto_generichash(&output, 32, c, UInt64(content.count), k, key.count)
            }
        }
        guard status == 0 else { throw .initializationFailed }
        return output
    }
}

/// HMAC-SHA-256 over libsodium's `crypto_auth_hmacsha256` (keys of any length, per RFC 2104).
public enum HMACSHA256 {
    /// A full HMAC-SHA-256 tag is 32 bytes.
    public static let tagByteCount = 32
    /// The shortest truncated tag ``verify(_:for:key:)`` accepts (RFC 2104: at least half).
    public static let minimumTagByteCount = 16

    /// The 32-byte tag of `message` under `key`.
    public static func authenticate(
        _ message: [UInt8], key: SecretBytes
    ) throws(CryptoError) -> [UInt8] {
        try Sodium.ensureInitialized()
        let tag = key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in mac(key: k, parts: [m]) }
        }
        guard let tag else { throw .initializationFailed }
        return tag
    }

    /// Checks a tag in constant time. A truncated tag (16…32 bytes) is compared with the same
    /// number of leading bytes of the full tag.
    /// - Throws: ``CryptoError/authenticationFailed`` if it does not match.
    public static func verify(
        _ tag: [UInt8], for message: [UInt8], key: SecretBytes
    ) throws(CryptoError) {
        guard (minimumTagByteCount...tagByteCount).contains(tag.count) else {
            throw .invalidLength(what: "an HMAC-SHA-256 tag", expected: "16…32", actual: tag.count)
        }
        let expected = try authenticate(message, key: key)
        let matches = expected.withUnsafeBytes { e in
            tag.withUnsafeBytes { t in
                constantTimeEqual(UnsafeRawBufferPointer(rebasing: e[..<t.count]), t)
            }
        }
        guard matches else { throw .authenticationFailed }
    }

    /// HMAC over raw buffers, so that HKDF's secret inputs never leave protected memory.
    /// Returns nil only if libsodium reports a failure, which the public callers turn into a throw.
    static func mac(key: UnsafeRawBufferPointer, parts: [UnsafeRawBufferPointer]) -> [UInt8]? {
        var state = crypto_auth_hmacsha256_state()
        defer { sodium_memzero(&state, MemoryLayout<crypto_auth_hmacsha256_state>.size) }
        var empty: UInt8 = 0
        let status = withUnsafePointer(to: &empty) { fallback in
            crypto_auth_hmacsha256_init(
                &state, key.bindMemory(to: UInt8.self).baseAddress ?? fallback, key.count)
        }
        guard status == 0 else { return nil }
        for part in parts where part.count > 0 {
            guard
                crypto_auth_hmacsha256_update(
                    &state, part.bindMemory(to: UInt8.self).baseAddress, UInt64(part.count)) == 0
            else { return nil }
        }
        var tag = [UInt8](repeating: 0, count: tagByteCount)
        guard crypto_auth_hmacsha256_final(&state, &tag) == 0 else { return nil }
        return tag
    }
}

/// HKDF-SHA-256 (RFC 5869), built on ``HMACSHA256`` because libsodium 1.0.18 has no HKDF.
public enum HKDFSHA256 {
    /// The longest output HKDF-SHA-256 can produce: 255 blocks of 32 bytes.
    public static let maximumOutputByteCount = 255 * 32

    /// Extract-then-expand.
    /// - Parameters:
    ///   - inputKeyMaterial: the secret input.
    ///   - salt: optional non-secret salt (empty means 32 zero bytes, as the RFC says).
    ///   - info: context binding the output to its purpose.
    ///   - outputByteCount: 0…8160.
    /// - Returns: the output keying material, in protected memory.
    /// - Throws: ``CryptoError/outputLengthOutOfRange(requested:maximum:)``.
    public static func deriveKey(
        inputKeyMaterial: SecretBytes, salt: [UInt8], info: [UInt8], outputByteCount: Int
    ) throws(CryptoError) -> SecretBytes {
        guard (0...maximumOutputByteCount).contains(outputByteCount) else {
            throw .outputLengthOutOfRange(
                requested: outputByteCount, maximum: maximumOutputByteCount)
        }
        let prk = try extract(inputKeyMaterial: inputKeyMaterial, salt: salt)
        return try expand(pseudoRandomKey: prk, info: info, outputByteCount: outputByteCount)
    }

    /// HKDF-Extract: PRK = HMAC(salt, IKM).
    public static func extract(
        inputKeyMaterial: SecretBytes, salt: [UInt8]
    ) throws(CryptoError) -> SecretBytes {
        try Sodium.ensureInitialized()
        let effectiveSalt = salt.isEmpty ? [UInt8](repeating: 0, count: 32) : salt
        var tag = inputKeyMaterial.withUnsafeBytes { ikm in
            effectiveSalt.withUnsafeBytes { s in HMACSHA256.mac(key: s, parts: [ikm]) }
        }
        // take() leaves `tag` empty, so the one buffer is the one wiped (no copy-on-write twin).
        guard var prk = tag.take() else { throw .initializationFailed }
        defer { wipe(&prk) }
        return try SecretBytes(copying: prk)
    }

    /// HKDF-Expand: T(i) = HMAC(PRK, T(i-1) ‖ info ‖ i).
    public static func expand(
        pseudoRandomKey prk: SecretBytes, info: [UInt8], outputByteCount: Int
    ) throws(CryptoError) -> SecretBytes {
        try Sodium.ensureInitialized()
        guard (0...maximumOutputByteCount).contains(outputByteCount) else {
            throw .outputLengthOutOfRange(
                requested: outputByteCount, maximum: maximumOutputByteCount)
        }
        return try SecretBytes(count: outputByteCount) { (out) throws(CryptoError) in
            var previous: [UInt8] = []
            defer { wipe(&previous) }
            var written = 0
            var counter: UInt8 = 1
            while written < outputByteCount {
                let block = prk.withUnsafeBytes { k in
                    previous.withUnsafeBytes { p in
                        info.withUnsafeBytes { i in
                            withUnsafeBytes(of: counter) { c in
                                HMACSHA256.mac(key: k, parts: [p, i, c])
                            }
                        }
                    }
                }
                guard let block else { throw .initializationFailed }
                wipe(&previous)
                let take = Swift.min(block.count, outputByteCount - written)
                for i in 0..<take { out[written + i] = block[i] }
                written += take
                previous = block
                counter &+= 1
            }
        }
    }
}

/// Zeroes an ordinary array that briefly held secret bytes.
func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { buffer in
        if let base = buffer.baseAddress { sodium_memzero(base, buffer.count) }
    }
}

/// A BLAKE2b-256 state allocated once and restarted for each hash: for hashing many short public
/// inputs in a row (the label chain over every label of a vault), where allocating a state and an
/// output per hash costs several times the hashing itself. Not for secrets: the state is cleared
/// only when the hasher is released. Not shared between threads.
public final class BLAKE2bHasher {
    private let storage: UnsafeMutableRawPointer
    private let size: Int
    private var state: OpaquePointer { OpaquePointer(storage) }

    /// A hasher ready for its first input.
    public init() throws(CryptoError) {
        try Sodium.ensureInitialized()
        size = crypto_generichash_statebytes()
        storage = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        guard crypto_generichash_init(OpaquePointer(storage), nil, 0, 32) == 0 else {
            storage.deallocate()
            throw .initializationFailed
        }
    }

    deinit {
        sodium_memzero(storage, size)
        storage.deallocate()
    }

    /// Adds `bytes` to the input.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        _ = crypto_generichash_update(
            state, base.assumingMemoryBound(to: UInt8.self), UInt64(bytes.count))
    }

    /// Adds `bytes` to the input.
    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// Writes the 32-byte hash of everything added since the last one into `output` at `offset`
    /// (which must have room), and starts again.
    public func finish(into output: inout [UInt8], at offset: Int = 0) throws(CryptoError) {
        guard output.count >= offset + 32 else {
            throw .invalidLength(
                what: "a hash's room", expected: "32", actual: output.count - offset)
        }
        let status = output.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else { return -1 }
            return crypto_generichash_final(state, base + offset, 32)
        }
        guard status == 0, crypto_generichash_init(state, nil, 0, 32) == 0 else {
            throw .initializationFailed
        }
    }
}
