internal import CSodium
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Bytes that must not leak: keys, passphrases and plaintext.
///
/// The bytes live in memory from `sodium_malloc` — guard pages either side, a canary, locked
/// against swapping where the system allows — and are wiped with `sodium_memzero` when the value is
/// released (and on ``wipe()``). Small regions are recycled, wiped, through ``SecretRegions``. They are reachable only inside a closure, compare in constant time,
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
        guard let pointer = SecretRegions.take(Swift.max(count, 1)) else {
            throw .allocationFailed(byteCount: count)
        }
        self.base = pointer
        self.typed = pointer.bindMemory(to: UInt8.self, capacity: Swift.max(count, 1))
        self.count = count
    }

    /// Copies `bytes` into protected memory. The caller remains responsible for its own copy.
    public convenience init(copying bytes: some Collection<UInt8>) throws(CryptoError) {
        try self.init(zeroedCount: bytes.count)
        let target = UnsafeMutableRawBufferPointer(start: base, count: count)
        let copied: Void? = bytes.withContiguousStorageIfAvailable { source in
            if let from = source.baseAddress {
                target.copyMemory(from: UnsafeRawBufferPointer(start: from, count: source.count))
            }
        }
        if copied == nil { _ = target.initializeMemory(as: UInt8.self, from: bytes) }
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
        SecretRegions.give(base, count: Swift.max(count, 1))
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
    /// The length only, never the bytes: `SecretBytes(32 bytes, redacted)`.
    public var description: String { "SecretBytes(\(count) bytes, redacted)" }
    /// The same redacted text as ``description``.
    public var debugDescription: String { description }
    /// A mirror with no children, so reflection and `dump` show no bytes.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// Constant-time comparison of two public byte strings of equal length (MAC tags and the like).
func constantTimeEqual(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    guard a.count == b.count else { return false }
    guard a.count > 0, let pa = a.baseAddress, let pb = b.baseAddress else { return true }
    return sodium_memcmp(pa, pb, a.count) == 0
}

/// Constant-time comparison of two byte strings (a session's CSRF token against the one sent):
/// false for different lengths, and otherwise no faster for a mismatch in the first byte.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in constantTimeEqual(pa, pb) } }
}

/// A cache of wiped `sodium_malloc` regions, so that the hot paths (a key, a slot message, a form
/// per record) do not pay `mmap`, `mlock`, two `mprotect`s and `munmap` for every secret: those
/// system calls cost more than the cryptography they protect.
///
/// Regions come in power-of-two sizes from 64 bytes to 16 KiB; a secret gets the smallest that fits
/// and larger ones get their own region as before. A released region is wiped whole with
/// `sodium_memzero` before it is cached, so nothing readable lingers. At most 64 are kept per
/// size, except the smallest: an import holds a shred key per record of two batches (500 each) at
/// once, and freeing them only to map them again for the next batch cost about a tenth of the
/// import (each `mprotect` stops the other core to flush its TLB), so up to 1,024 of those are
/// kept — never more than half the pages this process may lock, so that secrets made later still
/// find locked memory (`sodium_malloc` does not fail when `mlock` does). Kept regions stay locked:
/// about 2,000 pages in all at most (8 MiB with 4 KiB pages), of which the smallest size holds
/// 1,024, one page each.
enum SecretRegions {
    static let smallest = 64
    static let largest = 16_384
    static let keptPerSize = 64
    /// How many regions of the smallest size are kept: two batches of shred keys, with room, within
    /// half the locked-memory limit (and never fewer than the other sizes keep).
    static let keptSmallest: Int = {
        var limit = rlimit()
        #if canImport(Glibc)
            let resource = __rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue)
        #else
            let resource = RLIMIT_MEMLOCK
        #endif
        guard getrlimit(resource, &limit) == 0 else { return keptPerSize }
        // No limit (RLIM_INFINITY) is the largest value, so it comes out as 1,024 below.
        let pageSize = max(1, sysconf(Int32(_SC_PAGESIZE)))
        let pages = Int(clamping: UInt64(limit.rlim_cur) / UInt64(pageSize))
        return min(1_024, max(keptPerSize, pages / 2))
    }()
    /// Free regions by size class, as addresses (pointers are not Sendable).
    private static let free = Mutex<[[UInt]]>(Array(repeating: [], count: 9))

    static func sizeClass(_ count: Int) -> (index: Int, size: Int)? {
        guard count <= largest else { return nil }
        var size = smallest
        var index = 0
        while size < count {
            size <<= 1
            index += 1
        }
        return (index, size)
    }

    /// A zeroed region of at least `count` bytes, or nil if memory is exhausted.
    static func take(_ count: Int) -> UnsafeMutableRawPointer? {
        guard let (index, size) = sizeClass(count) else {
            guard let pointer = sodium_malloc(count) else { return nil }
            sodium_memzero(pointer, count)
            return pointer
        }
        if let address = free.withLock({ $0[index].popLast() }) {
            return UnsafeMutableRawPointer(bitPattern: address)
        }
        guard let pointer = sodium_malloc(size) else { return nil }
        sodium_memzero(pointer, size)
        return pointer
    }

    /// Wipes a region and caches or frees it.
    static func give(_ pointer: UnsafeMutableRawPointer, count: Int) {
        guard let (index, size) = sizeClass(count) else {
            sodium_memzero(pointer, count)
            sodium_free(pointer)
            return
        }
        sodium_memzero(pointer, size)
        let address = UInt(bitPattern: pointer)
        let kept = free.withLock { lists in
            guard lists[index].count < (index == 0 ? keptSmallest : keptPerSize) else {
                return false
            }
            lists[index].append(address)
            return true
        }
        if !kept { sodium_free(pointer) }
    }
}
