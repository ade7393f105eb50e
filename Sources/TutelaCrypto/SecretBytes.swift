internal import CSodium

/// Bytes that must not leak: keys, passphrases and plaintext.
///
/// The bytes live in memory from `sodium_malloc` — guard pages either side, a canary, locked
/// against swapping where the system allows — and are wiped with `sodium_memzero` when the value is
/// released (and on ``wipe()``). They are reachable only inside a closure, compare in constant time,
/// and never appear in a description, a debug print or a mirror.
///
/// `SecretBytes` is a reference type so that a secret is never silently copied; a copy is made only
/// by asking for one. Its contents are written only while it is being built, so it is safe to share
/// between tasks.
public final class SecretBytes: @unchecked Sendable {
    private let base: UnsafeMutableRawPointer
    private let typed: UnsafeMutablePointer<UInt8>
    /// The number of bytes held.
    public let count: Int

    /// Allocates `count` zeroed bytes of protected memory.
    /// - Throws: ``CryptoError/allocationFailed(byteCount:)``.
    public init(zeroedCount count: Int) throws(CryptoError) {
        try Sodium.ensureInitialized()
        precondition(count >= 0, "negative size")
        // sodium_malloc(0) is legal but returns a canary-only region; one byte keeps the pointer usable.
        guard let pointer = sodium_malloc(Swift.max(count, 1)) else {
            throw .allocationFailed(byteCount: count)
        }
        sodium_memzero(pointer, Swift.max(count, 1))
        self.base = pointer
        self.typed = pointer.bindMemory(to: UInt8.self, capacity: Swift.max(count, 1))
        self.count = count
    }

    /// Copies `bytes` into protected memory. The caller remains responsible for its own copy.
    public convenience init(copying bytes: some Collection<UInt8>) throws(CryptoError) {
        try self.init(zeroedCount: bytes.count)
        let target = UnsafeMutableRawBufferPointer(start: base, count: count)
        _ = target.initializeMemory(as: UInt8.self, from: bytes)
    }

    /// Allocates `count` bytes and lets `body` fill them. If `body` throws, the bytes are wiped.
    public convenience init(
        count: Int,
        initializingWith body: (UnsafeMutableRawBufferPointer) throws(CryptoError) -> Void
    ) throws(CryptoError) {
        try self.init(zeroedCount: count)
        try body(UnsafeMutableRawBufferPointer(start: base, count: count))
    }

    /// `count` bytes from the system's secure random source.
    public static func random(count: Int) throws(CryptoError) -> SecretBytes {
        let secret = try SecretBytes(zeroedCount: count)
        randombytes_buf(secret.base, count)
        return secret
    }

    deinit {
        sodium_memzero(base, Swift.max(count, 1))
        sodium_free(base)
    }

    /// Runs `body` with read access to the bytes. Do not let the pointer escape.
    public func withUnsafeBytes<R, E: Error>(
        _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// Mutable access, for building a secret inside this module only.
    func withUnsafeMutableBytes<R, E: Error>(
        _ body: (UnsafeMutableRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeMutableRawBufferPointer(start: base, count: count))
    }

    /// A typed pointer for C calls inside this module; never nil, even for zero bytes.
    func withBytePointer<R>(_ body: (UnsafePointer<UInt8>) -> R) -> R {
        body(UnsafePointer(typed))
    }

    /// A typed mutable pointer for C calls that fill a secret inside this module.
    func withMutableBytePointer<R>(_ body: (UnsafeMutablePointer<UInt8>) -> R) -> R {
        body(typed)
    }

    /// Overwrites the bytes with zeros now, before release. The value stays allocated with its count.
    public func wipe() {
        sodium_memzero(base, Swift.max(count, 1))
    }

    /// A new secret holding bytes `range` of this one.
    public func slice(_ range: Range<Int>) throws(CryptoError) -> SecretBytes {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "range out of bounds")
        let result = try SecretBytes(zeroedCount: range.count)
        if !range.isEmpty {
            result.base.copyMemory(from: base + range.lowerBound, byteCount: range.count)
        }
        return result
    }

    /// A new secret holding these bytes followed by `other`'s.
    public func appending(_ other: SecretBytes) throws(CryptoError) -> SecretBytes {
        let result = try SecretBytes(zeroedCount: count + other.count)
        if count > 0 { result.base.copyMemory(from: base, byteCount: count) }
        if other.count > 0 {
            (result.base + count).copyMemory(from: other.base, byteCount: other.count)
        }
        return result
    }

    /// Copies the bytes out into an ordinary array.
    ///
    /// Only for data that is about to leave protected memory on purpose (for example plaintext being
    /// decoded into a value the caller then shows). The array is not wiped by anyone.
    public func unprotectedCopy() -> [UInt8] {
        [UInt8](UnsafeRawBufferPointer(start: base, count: count))
    }
}

extension SecretBytes: Equatable {
    /// Constant-time comparison (`sodium_memcmp`); lengths are compared first and are not secret.
    public static func == (lhs: SecretBytes, rhs: SecretBytes) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.count == 0 { return true }
        return sodium_memcmp(lhs.base, rhs.base, lhs.count) == 0
    }
}

extension SecretBytes: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "SecretBytes(\(count) bytes, redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// Constant-time comparison of two public byte strings of equal length (MAC tags and the like).
func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    guard a.count > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return true }
    return sodium_memcmp(pa, pb, a.count) == 0
}
