import Testing

@testable import TutelaCrypto

/// All k-element subsets of `items`, in order.
func subsets<T>(_ items: [T], size: Int) -> [[T]] {
    if size == 0 { return [[]] }
    guard items.count >= size else { return [] }
    var result: [[T]] = []
    for (i, item) in items.enumerated() {
        for rest in subsets(Array(items[(i + 1)...]), size: size - 1) {
            result.append([item] + rest)
        }
    }
    return result
}

@Suite("Shamir secret sharing over GF(2^8)")
struct SecretSharingTests {
    static let schemes: [(threshold: Int, shares: Int)] = [
        (1, 1), (1, 3), (2, 2), (2, 3), (3, 5), (4, 7), (5, 8),
    ]

    @Test("every k-subset of n shares recovers the key; no (k-1)-subset does", arguments: schemes)
    func thresholds(threshold: Int, shares shareCount: Int) throws {
        let key = try SecretBytes.random(count: 32)
        let shares = try SecretSharing.split(key, threshold: threshold, shareCount: shareCount)
        #expect(shares.map(\.index) == Array(1...shareCount))
        var recovered = 0
        for subset in subsets(shares, size: threshold) {
            #expect(try SecretSharing.combine(subset) == key)
            #expect(try SecretSharing.combine(subset.reversed()) == key)
            recovered += 1
        }
        var refused = 0
        for subset in subsets(shares, size: threshold - 1) {
            #expect(
                throws: CryptoError.insufficientShares(required: threshold, supplied: threshold - 1)
            ) {
                try SecretSharing.combine(subset)
            }
            // Even forced, interpolation through too few points does not land on the key.
            if !subset.isEmpty {
                #expect(try SecretSharing.interpolateAtZero(subset) != key)
            }
            refused += 1
        }
        print(
            "Shamir \(threshold)-of-\(shareCount): \(recovered) subsets recovered, \(refused) short subsets refused"
        )
    }

    @Test("two splits of the same key use fresh coefficients")
    func freshCoefficients() throws {
        let key = try SecretBytes.random(count: 32)
        let a = try SecretSharing.split(key, threshold: 2, shareCount: 3)
        let b = try SecretSharing.split(key, threshold: 2, shareCount: 3)
        #expect(a[0].value != b[0].value)
    }

    @Test("duplicate, mixed, zero-index and malformed shares are refused")
    func malformed() throws {
        let key = try SecretBytes.random(count: 32)
        let shares = try SecretSharing.split(key, threshold: 3, shareCount: 5)
        #expect(throws: CryptoError.duplicateShare(index: 1)) {
            try SecretSharing.combine([shares[0], shares[1], shares[0]])
        }
        let other = try SecretSharing.split(key, threshold: 2, shareCount: 5)
        #expect(throws: CryptoError.inconsistentShares) {
            try SecretSharing.combine([shares[0], shares[1], other[2]])
        }
        #expect(throws: CryptoError.insufficientShares(required: 1, supplied: 0)) {
            try SecretSharing.combine([])
        }
        let good = try shares[0].serialized().unprotectedCopy()
        #expect(try SecretShare(serialized: SecretBytes(copying: good)).value == shares[0].value)
        var zeroIndex = good
        zeroIndex[2] = 0
        var badVersion = good
        badVersion[0] = 9
        var zeroThreshold = good
        zeroThreshold[1] = 0
        for bad in [zeroIndex, badVersion, zeroThreshold, Array(good.dropLast()), good + [0]] {
            #expect(throws: CryptoError.self) {
                try SecretShare(serialized: SecretBytes(copying: bad))
            }
        }
    }

    @Test("impossible parameters are refused")
    func parameters() throws {
        let key = try SecretBytes.random(count: 32)
        for (k, n) in [(0, 3), (4, 3), (2, 256), (-1, 2)] {
            #expect(throws: CryptoError.invalidSharingParameters(threshold: k, shares: n)) {
                try SecretSharing.split(key, threshold: k, shareCount: n)
            }
        }
        #expect(throws: CryptoError.self) {
            try SecretSharing.split(SecretBytes.random(count: 16), threshold: 2, shareCount: 3)
        }
    }

    @Test("field arithmetic: AES-field known product and every inverse")
    func field() {
        // FIPS-197 §4.2: {57} • {83} = {c1}; {53} and {ca} are inverses.
        #expect(GF256.multiply(0x57, 0x83) == 0xC1)
        #expect(GF256.multiply(0x53, 0xCA) == 0x01)
        for a in 1...255 {
            #expect(GF256.multiply(UInt8(a), GF256.inverse(UInt8(a))) == 1)
        }
        // Multiplication is commutative and distributes over XOR (checked on a grid).
        for a in stride(from: 0, through: 255, by: 17) {
            for b in stride(from: 0, through: 255, by: 13) {
                let (x, y) = (UInt8(a), UInt8(b))
                #expect(GF256.multiply(x, y) == GF256.multiply(y, x))
                #expect(
                    GF256.multiply(x, y ^ 0x1D) == GF256.multiply(x, y) ^ GF256.multiply(x, 0x1D))
            }
        }
    }
}

@Suite("Process hardening")
struct ProcessHardeningTests {
    @Test("core dumps can be turned off")
    func coreDumps() throws {
        try ProcessHardening.disableCoreDumps()
        #expect(ProcessHardening.coreDumpsDisabled)
    }
}
