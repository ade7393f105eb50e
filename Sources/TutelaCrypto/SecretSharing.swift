/// One share of a split secret.
///
/// Serialised as 35 bytes: version (1), threshold k, index x (1…255), then the 32 share bytes.
/// The header is public; the share value is secret and stays in protected memory.
public struct SecretShare: Sendable {
    static let version: UInt8 = 1
    /// A serialised share is 35 bytes: the 3-byte header and the 32 share bytes.
    public static let serializedByteCount = 3 + SecretSharing.secretByteCount

    /// How many shares are needed to recover the secret.
    public let threshold: Int
    /// The share's x-coordinate, 1…255. Never 0: the secret sits at x = 0.
    public let index: Int
    /// The polynomial evaluations at ``index``, one per secret byte.
    public let value: SecretBytes

    /// Parses a serialised share.
    /// - Throws: ``CryptoError/malformedShare(reason:)``.
    public init(serialized: SecretBytes) throws(CryptoError) {
        guard serialized.count == Self.serializedByteCount else {
            throw .malformedShare(
                reason: "expected \(Self.serializedByteCount) bytes, got \(serialized.count)")
        }
        let header = serialized.withUnsafeBytes { [UInt8]($0.prefix(3)) }
        guard header[0] == Self.version else {
            throw .malformedShare(reason: "unknown version \(header[0])")
        }
        try self.init(
            threshold: Int(header[1]), index: Int(header[2]),
            value: serialized.slice(3..<Self.serializedByteCount))
    }

    init(threshold: Int, index: Int, value: SecretBytes) throws(CryptoError) {
        guard threshold >= 1 else { throw .malformedShare(reason: "threshold is 0") }
        guard (1...255).contains(index) else {
            throw .malformedShare(reason: "index \(index) is outside 1…255")
        }
        guard value.count == SecretSharing.secretByteCount else {
            throw .malformedShare(reason: "share value is \(value.count) bytes, expected 32")
        }
        self.threshold = threshold
        self.index = index
        self.value = value
    }

    /// The 35-byte serialisation, in protected memory.
    public func serialized() throws(CryptoError) -> SecretBytes {
        let header = try SecretBytes(copying: [Self.version, UInt8(threshold), UInt8(index)])
        return try header.appending(value)
    }
}

/// k-of-n threshold secret sharing (Shamir) over GF(2^8) for 32-byte keys.
///
/// Each byte of the secret is the constant term of its own random polynomial of degree k-1; share x
/// holds every polynomial evaluated at x. Any k shares recover the secret by Lagrange interpolation at
/// 0; k-1 shares reveal nothing about it. Field arithmetic uses no table lookups and no branches on
/// secret values, so timing does not depend on the secret.
public enum SecretSharing {
    /// The one secret size supported: 32 bytes, the size of a key or seed.
    public static let secretByteCount = 32
    /// At most 255 shares, one for each non-zero x in GF(2^8).
    public static let maximumShares = 255

    /// Splits a 32-byte secret into `shareCount` shares, any `threshold` of which recover it.
    /// Fresh random coefficients are drawn for every call.
    /// - Throws: ``CryptoError/invalidSharingParameters(threshold:shares:)`` unless
    ///   1 ≤ threshold ≤ shareCount ≤ 255; ``CryptoError/invalidLength(what:expected:actual:)``.
    public static func split(
        _ secret: SecretBytes, threshold: Int, shareCount: Int
    ) throws(CryptoError) -> [SecretShare] {
        guard threshold >= 1, shareCount >= threshold, shareCount <= maximumShares else {
            throw .invalidSharingParameters(threshold: threshold, shares: shareCount)
        }
        try checkLength("a shared secret", secret.count, secretByteCount)
        // coefficients[j * 32 + b] is the coefficient of x^(j+1) in byte b's polynomial.
        let coefficients = try SecretBytes.random(count: (threshold - 1) * secretByteCount)
        var shares: [SecretShare] = []
        shares.reserveCapacity(shareCount)
        for index in 1...shareCount {
            let x = UInt8(index)
            let value = try SecretBytes(count: secretByteCount) { out in
                secret.withUnsafeBytes { s in
                    coefficients.withUnsafeBytes { c in
                        for b in 0..<secretByteCount {
                            // Horner's rule from the highest coefficient down to the secret.
                            var y: UInt8 = 0
                            var j = threshold - 2
                            while j >= 0 {
                                y = GF256.multiply(y, x) ^ c[j * secretByteCount + b]
                                j -= 1
                            }
                            out[b] = GF256.multiply(y, x) ^ s[b]
                        }
                    }
                }
            }
            shares.append(try SecretShare(threshold: threshold, index: index, value: value))
        }
        return shares
    }

    /// Recovers the secret from at least `threshold` distinct shares of one split.
    /// - Throws: ``CryptoError/insufficientShares(required:supplied:)`` with too few shares,
    ///   ``CryptoError/duplicateShare(index:)`` when an index repeats,
    ///   ``CryptoError/inconsistentShares`` when thresholds differ.
    public static func combine(_ shares: [SecretShare]) throws(CryptoError) -> SecretBytes {
        guard let first = shares.first else {
            throw .insufficientShares(required: 1, supplied: 0)
        }
        let threshold = first.threshold
        var seen = Set<Int>()
        for share in shares {
            guard share.threshold == threshold else { throw .inconsistentShares }
            guard seen.insert(share.index).inserted else {
                throw .duplicateShare(index: share.index)
            }
        }
        guard shares.count >= threshold else {
            throw .insufficientShares(required: threshold, supplied: shares.count)
        }
        return try interpolateAtZero(Array(shares.prefix(threshold)))
    }

    /// Lagrange interpolation at x = 0 over exactly the given shares (no threshold check).
    static func interpolateAtZero(_ shares: [SecretShare]) throws(CryptoError) -> SecretBytes {
        let xs = shares.map { UInt8($0.index) }
        // Basis weights l_i = Π_{j≠i} x_j / (x_j − x_i); in GF(2^8) subtraction is XOR.
        let weights = xs.indices.map { i in
            var numerator: UInt8 = 1
            var denominator: UInt8 = 1
            for j in xs.indices where j != i {
                numerator = GF256.multiply(numerator, xs[j])
                denominator = GF256.multiply(denominator, xs[j] ^ xs[i])
            }
            return GF256.multiply(numerator, GF256.inverse(denominator))
        }
        return try SecretBytes(count: secretByteCount) { out in
            for (share, weight) in zip(shares, weights) {
                share.value.withUnsafeBytes { y in
                    for b in 0..<secretByteCount {
                        out[b] ^= GF256.multiply(y[b], weight)
                    }
                }
            }
        }
    }
}

/// Arithmetic in GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1, in constant time.
enum GF256 {
    /// Carry-less multiply and reduce, eight fixed rounds, masks instead of branches.
    @inline(__always)
    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        var a = a
        var b = b
        var product: UInt8 = 0
        for _ in 0..<8 {
            product ^= a & (0 &- (b & 1))
            let carry = 0 &- (a >> 7)
            a = (a << 1) ^ (0x1B & carry)
            b >>= 1
        }
        return product
    }

    /// a^254 = a^-1 for a ≠ 0 (and 0 for 0), by a fixed square-and-multiply chain.
    static func inverse(_ a: UInt8) -> UInt8 {
        // 254 = 0b11111110: square-and-multiply over its bits from the top.
        var result: UInt8 = 1
        for bit in (0..<8).reversed() {
            result = multiply(result, result)
            let factor = (254 >> bit) & 1 == 1 ? a : 1
            result = multiply(result, factor)
        }
        return result
    }
}
