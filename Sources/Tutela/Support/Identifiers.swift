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
        // Over the UTF-8 view itself: stores re-check every id they read back, a million labels
        // in a retention check, so no array is built.
        func alnum(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
        }
        var count = 0
        for c in id.utf8 {
            guard count < maximumLength else { return false }
            guard alnum(c) || (count > 0 && (c == 0x2E || c == 0x5F || c == 0x2D)) else {
                return false
            }
            count += 1
        }
        return count > 0
    }

    /// A new record id: `R-` and twelve Crockford base-32 characters (60 random bits).
    static func newRecordID() throws(TutelaError) -> RecordID {
        guard let id = RecordID(validating: try newRecordIDText()) else {
            throw .internal("a new record id is not a valid id")
        }
        return id
    }

    /// The text of a new record id, `R-XXXX-XXXX-XXXX`.
    static func newRecordIDText() throws(TutelaError) -> String {
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

    /// Whether `id` has the exact shape of a record id Tutela makes: `R-` and three groups of four
    /// capital Crockford base-32 characters from ``newRecordIDText()``'s alphabet. A byte scan:
    /// labels are read by the million.
    static func isMadeRecordID(_ id: String) -> Bool {
        guard id.utf8.count == 16, id.utf8.first == UInt8(ascii: "R") else { return false }
        for (i, b) in id.utf8.enumerated().dropFirst() {
            switch (i, b) {
            case (1, UInt8(ascii: "-")), (6, UInt8(ascii: "-")), (11, UInt8(ascii: "-")): continue
            case (1, _), (6, _), (11, _): return false
            case (_, UInt8(ascii: "I")), (_, UInt8(ascii: "L")), (_, UInt8(ascii: "O")),
                (_, UInt8(ascii: "U")):
                return false
            case (_, UInt8(ascii: "0")...UInt8(ascii: "9")),
                (_, UInt8(ascii: "A")...UInt8(ascii: "Z")):
                continue
            default: return false
            }
        }
        return true
    }

    /// A typed id in the shape Tutela generates (`R-`, `BG-`, `RV-` or `IR-` and three groups of
    /// four Crockford base-32 characters), written as Tutela writes it: in capitals, with `I` and
    /// `L` read as `1` and `O` as `0`, as Crockford's alphabet asks, so an id read off paper or
    /// typed in lower case is found. Nil for any other text, which is taken as typed: people's and
    /// learners' ids are the centre's own, and their case is theirs.
    static func generatedForm(_ typed: String) -> String? {
        // ASCII only: full Unicode upper-casing would turn 'ſ' into 'S' or 'ﬁ' into "FI".
        guard typed.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        let parts = typed.uppercased().split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 4, ["R", "BG", "RV", "IR"].contains(parts[0]),
            parts.dropFirst().allSatisfy({ $0.utf8.count == 4 })
        else { return nil }
        var groups: [String] = []
        for part in parts.dropFirst() {
            var group: [UInt8] = []
            for c in part.utf8 {
                switch c {
                case UInt8(ascii: "I"), UInt8(ascii: "L"): group.append(UInt8(ascii: "1"))
                case UInt8(ascii: "O"): group.append(UInt8(ascii: "0"))
                case UInt8(ascii: "U"): return nil
                case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
                    group.append(c)
                default: return nil
                }
            }
            groups.append(String(decoding: group, as: UTF8.self))
        }
        return ([String(parts[0])] + groups).joined(separator: "-")
    }

    /// Whether UTF-8 `bytes` hold a control character (C0, DEL, C1) or a character that reorders
    /// text on screen (U+202A–U+202E, U+2066–U+2069). A byte scan: labels are read by the million.
    static func hasControlCharacters(_ bytes: some Collection<UInt8>) -> Bool {
        var previous: UInt8 = 0
        var beforePrevious: UInt8 = 0
        for b in bytes {
            if b < 0x20 || b == 0x7F { return true }
            if previous == 0xC2, (0x80...0x9F).contains(b) { return true }
            if beforePrevious == 0xE2, previous == 0x80, (0xAA...0xAE).contains(b) { return true }
            if beforePrevious == 0xE2, previous == 0x81, (0xA6...0xA9).contains(b) { return true }
            beforePrevious = previous
            previous = b
        }
        return false
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

/// What an ``ID`` names; the kind's noun names it in error messages.
public protocol IDKind: Sendable {
    /// The noun for an id of this kind in messages: "record", "learner", ….
    static var noun: String { get }
    /// Whether Tutela makes ids of this kind (`R-…`, `BG-…`): then a typed one is read in any
    /// case (``Identifier/generatedForm(_:)``).
    static var generated: Bool { get }
}

extension IDKind {
    /// People's and learners' ids are the centre's own: taken as typed.
    public static var generated: Bool { false }
}

/// A checked identifier of one kind: parsed once, where text enters (an argument, a form, a stored
/// row), and passed on typed, so a learner id cannot be given where a record id is wanted.
///
/// The text is 1–64 ASCII letters, digits, `.`, `_` or `-`, starting with a letter or digit
/// (``Identifier/isValid(_:)``). Encodings write ``text`` unchanged.
public struct ID<Kind: IDKind>: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The validated text, as it is written in labels, facts and stores.
    public let text: String

    /// Parses an id someone typed.
    /// - Throws: ``TutelaError`` (usage) naming the kind's noun when `text` is not a valid id.
    public init(_ text: String) throws(TutelaError) {
        let text = Kind.generated ? Identifier.generatedForm(text) ?? text : text
        try Identifier.validate(text, as: Kind.noun)
        self.text = text
    }

    /// Parses stored text; nil when it is not a valid id (a reader reports that as tampering).
    public init?(validating text: String) {
        guard Identifier.isValid(text) else { return nil }
        self.text = text
    }

    /// An id from a constant this module spells out, known to be valid (checked in debug builds).
    init(constant text: StaticString) {
        self.init(known: "\(text)")
    }

    /// An id this module builds from known-valid parts (checked in debug builds).
    init(known text: String) {
        self.text = text
        assert(Identifier.isValid(text), "\(text) is not a valid id")
    }

    /// The id's text.
    public var description: String { text }

    /// Orders ids by their text, which (ASCII only) is also byte order.
    public static func < (lhs: ID, rhs: ID) -> Bool { lhs.text < rhs.text }
}

extension ID: Codable {
    /// Reads the id from a single string, refusing one that is not a valid id.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let id = ID(validating: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "\(Kind.noun) is not a valid id")
        }
        self = id
    }

    /// Writes the id as its text, a single string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

/// The kind of a record's id.
public enum RecordKind: IDKind {
    /// "record".
    public static let noun = "record"
    /// Made by Tutela: typed ids are read in any case.
    public static let generated = true
}

/// The kind of a learner's id.
public enum LearnerKind: IDKind {
    /// "learner".
    public static let noun = "learner"
}

/// A record's id, `R-XXXX-XXXX-XXXX` for records this version seals.
public typealias RecordID = ID<RecordKind>

/// A learner's id, as the directory enrols them.
public typealias LearnerID = ID<LearnerKind>

/// The kind of a principal's id.
public enum PrincipalKind: IDKind {
    /// "principal".
    public static let noun = "principal"
}

/// The kind of a break-glass request's id.
public enum RequestKind: IDKind {
    /// "request".
    public static let noun = "request"
    /// Made by Tutela: typed ids are read in any case.
    public static let generated = true
}

/// The kind of a review item's id.
public enum ReviewKind: IDKind {
    /// "review".
    public static let noun = "review"
    /// Made by Tutela: typed ids are read in any case.
    public static let generated = true
}

/// The kind of a planned tutorial's id.
public enum PlanKind: IDKind {
    /// "plan".
    public static let noun = "plan"
    /// Made by Tutela: typed ids are read in any case.
    public static let generated = true
}

/// A planned tutorial's id, `TP-XXXX-XXXX-XXXX`.
public typealias PlanID = ID<PlanKind>

/// An enrolled person's id, as given to `--as`.
public typealias PrincipalID = ID<PrincipalKind>

/// A break-glass request's id, `BG-XXXX-XXXX-XXXX`.
public typealias RequestID = ID<RequestKind>

/// A review item's id, `RV-XXXX-XXXX-XXXX`.
public typealias ReviewID = ID<ReviewKind>
