internal import CSodium

/// Text made of secrets — a share file, a passphrase read from a file — built and read without
/// leaving a copy in ordinary memory: hex by libsodium's constant-time codec, straight between
/// protected regions.
extension SecretBytes {
    /// These bytes as lowercase hex, in protected memory.
    public func hexEncoded() throws(CryptoError) -> SecretBytes {
        let withNul = try SecretBytes(zeroedCount: count * 2 + 1)
        withNul.withMutableBytePointer { out in
            withBytePointer { bin in
                out.withMemoryRebound(to: CChar.self, capacity: count * 2 + 1) { hex in
                    _ = sodium_bin2hex(hex, count * 2 + 1, bin, count)
                }
            }
        }
        defer { withNul.wipe() }
        return try withNul.slice(0..<(count * 2))
    }

    /// Bytes `range` of this text, read as exactly `byteCount` bytes of hex, into protected memory;
    /// nil unless the range is all hex digits of that length.
    public func hexDecoded(_ range: Range<Int>, byteCount: Int) throws(CryptoError) -> SecretBytes?
    {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "range out of bounds")
        guard range.count == byteCount * 2 else { return nil }
        let result = try SecretBytes(zeroedCount: byteCount)
        var decoded = 0
        let status = result.withMutableBytePointer { out in
            withBytePointer { text in
                (text + range.lowerBound).withMemoryRebound(to: CChar.self, capacity: range.count) {
                    sodium_hex2bin(out, byteCount, $0, range.count, nil, &decoded, nil)
                }
            }
        }
        guard status == 0, decoded == byteCount else {
            result.wipe()
            return nil
        }
        return result
    }

    /// These bytes followed by each of `parts`, in one new protected region.
    public static func joined(_ parts: [SecretBytes]) throws(CryptoError) -> SecretBytes {
        let total = parts.reduce(0) { $0 + $1.count }
        let result = try SecretBytes(zeroedCount: total)
        var offset = 0
        result.withUnsafeMutableBytes { out in
            for part in parts where part.count > 0 {
                part.withUnsafeBytes { bytes in
                    guard let base = out.baseAddress, let from = bytes.baseAddress else { return }
                    (base + offset).copyMemory(from: from, byteCount: part.count)
                }
                offset += part.count
            }
        }
        return result
    }

    /// The first index at or after `start` holding `byte`, or nil.
    public func firstIndex(of byte: UInt8, from start: Int = 0) -> Int? {
        withUnsafeBytes { bytes in
            guard start < bytes.count else { return nil }
            return bytes[start...].firstIndex(of: byte)
        }
    }

    /// Whether bytes `range` are exactly `text` (not secret: a field's name, say).
    public func matches(_ range: Range<Int>, _ text: some Collection<UInt8>) -> Bool {
        guard range.lowerBound >= 0, range.upperBound <= count, range.count == text.count else {
            return false
        }
        return withUnsafeBytes { bytes in bytes[range].elementsEqual(text) }
    }

    /// Bytes `range`, copied out: only for parts of a secret text that are not secret (a file's
    /// header fields), never its secret values.
    public func publicPart(_ range: Range<Int>) -> [UInt8] {
        precondition(range.lowerBound >= 0 && range.upperBound <= count, "range out of bounds")
        return withUnsafeBytes { [UInt8]($0[range]) }
    }
}

/// Wipes ordinary memory that briefly held a secret (a form being encoded or read) with
/// `sodium_memzero`, which the compiler may not remove as a dead store, unlike a plain loop.
public enum Wipe {
    /// Zeroes every byte of `bytes`, keeping its count.
    public static func bytes(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress, raw.count > 0 else { return }
            sodium_memzero(base, raw.count)
        }
    }
}
