import TutelaCrypto

/// Checks the identifiers people type: principal, learner and record ids.
///
/// An id is 1–64 characters of ASCII letters, digits, `.`, `_` or `-`, starting with a letter or
/// digit. Keeping ids this plain keeps them unambiguous in labels, logs and file names.
public enum Identifier {
    /// The longest id, in characters (ASCII only, so also in bytes).
    public static let maximumLength = 64

    /// - Throws: ``TutelaError`` (usage) naming `what` when `id` is not acceptable.
    public static func validate(_ id: String, as what: String) throws(TutelaError) {
        guard isValid(id) else {
            throw .usage(
                "\(what) '\(printable(id))' is not a valid id",
                hint: "use 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit")
        }
    }

    /// Whether `id` is 1–64 ASCII letters, digits, `.`, `_` or `-`, starting with a letter or
    /// digit.
    public static func isValid(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard !bytes.isEmpty, bytes.count <= maximumLength else { return false }
        func alnum(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
        }
        guard alnum(bytes[0]) else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }
    }

    /// A new record id: `R-` and twelve Crockford base-32 characters (60 random bits).
    static func newRecordID() throws(TutelaError) -> String {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        let random: [UInt8]
        do { random = try SecureRandom.bytes(count: 8) } catch { throw .internal("\(error)") }
        var value = random.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        var chars: [Character] = []
        for _ in 0..<12 {
            chars.append(alphabet[Int(value & 31)])
            value >>= 5
        }
        return "R-" + String(chars[0..<4]) + "-" + String(chars[4..<8]) + "-"
            + String(chars[8..<12])
    }

    /// A short, safe rendering of untrusted text for an error message.
    static func printable(_ text: String) -> String {
        let cleaned = text.unicodeScalars.map {
            $0.properties.generalCategory == .control ? "?" : String($0)
        }
        .joined()
        return cleaned.count > 40 ? String(cleaned.prefix(40)) + "…" : cleaned
    }
}
