import Foundation
import TutelaCrypto

/// A signed statement of the audit log's size and head, meant to live outside the vault (printed, or
/// sent to the governors). `audit verify --checkpoint` proves the log still holds that prefix.
///
/// The text form is a few `name: value` lines and a signature over their canonical encoding:
///
/// ```
/// tutela audit checkpoint v1
/// vault: 3f1c…
/// entries: 1042
/// head: 9a7e…            (BLAKE2b-256 hash of entry 1041)
/// time: 2026-11-29T15:20:00Z
/// signer: hale
/// key: 5b0d…            (the signer's Ed25519 key)
/// signature: 1c2d…
/// ```
public struct Checkpoint: Sendable, Equatable {
    /// The id of the vault whose log this is; verification refuses another vault's checkpoint.
    public let vaultID: String
    /// How many audit entries the checkpoint covers (at least 1).
    public let entries: Int64
    /// The BLAKE2b-256 hash (32 bytes) of the last entry covered, entry `entries - 1`.
    public let head: [UInt8]
    /// When the checkpoint was signed, in seconds since 1970 UTC.
    public let time: Int64
    /// The principal id of who signed it.
    public let signer: PrincipalID
    /// The signer's Ed25519 public key (32 bytes); it must be one enrolled for them, current or
    /// former.
    public let signingKey: [UInt8]
    /// The 64-byte Ed25519 signature over the vault id, entries, head, time and signer.
    public let signature: [UInt8]

    static let firstLine = "tutela audit checkpoint v1"
    static let maximumTextBytes = 4096

    static func signedBytes(
        vaultID: String, entries: Int64, head: [UInt8], time: Int64, signer: PrincipalID
    ) -> [UInt8] {
        var w = CanonicalWriter()
        w.string("tutela/checkpoint/v1")
        w.string(vaultID)
        w.i64(entries)
        w.data(head)
        w.i64(time)
        w.id(signer)
        return w.bytes
    }

    static func make(
        vaultID: String, entries: Int64, head: [UInt8], time: Int64, signer: Identity
    ) throws(TutelaError) -> Checkpoint {
        let signed = signedBytes(
            vaultID: vaultID, entries: entries, head: head, time: time, signer: signer.principal)
        return Checkpoint(
            vaultID: vaultID, entries: entries, head: head, time: time, signer: signer.principal,
            signingKey: signer.publicIdentity.signingKey.bytes, signature: try signer.sign(signed))
    }

    /// The text to write to a file.
    public var text: String {
        [
            Self.firstLine, "vault: \(vaultID)", "entries: \(entries)", "head: \(Hex.encode(head))",
            "time: \(Timestamp.iso(time))", "signer: \(signer)", "key: \(Hex.encode(signingKey))",
            "signature: \(Hex.encode(signature))",
        ].joined(separator: "\n") + "\n"
    }

    /// Parses a checkpoint file strictly.
    /// - Throws: a data error naming what is wrong.
    public static func parse(_ text: String) throws(TutelaError) -> Checkpoint {
        func bad(_ what: String) -> TutelaError {
            .invalidInput("the checkpoint file is not valid: \(what)")
        }
        guard text.utf8.count <= maximumTextBytes else { throw bad("it is too large") }
        // Split on any line ending: "\r\n" is one Character, which a split on "\n" never finds.
        let lines = text.split(whereSeparator: \.isNewline).map(String.init)
        guard lines.first == firstLine else { throw bad("the first line must be '\(firstLine)'") }
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw bad("a line has no ':'") }
            let name = String(line[..<colon])
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard fields.updateValue(value, forKey: name) == nil else {
                throw bad("'\(name)' appears twice")
            }
        }
        let names = ["vault", "entries", "head", "time", "signer", "key", "signature"]
        guard Set(fields.keys) == Set(names) else {
            throw bad("it must have exactly the fields " + names.joined(separator: ", "))
        }
        func value(_ name: String) -> String { fields[name] ?? "" }
        guard let entries = Int64(value("entries")), entries >= 1 else {
            throw bad("entries is not a count")
        }
        guard let head = Hex.decode(value("head")), head.count == 32 else {
            throw bad("head is not a hash")
        }
        guard let time = Timestamp.parse(value("time")) else { throw bad("time is not a UTC time") }
        guard let key = Hex.decode(value("key")), key.count == 32 else {
            throw bad("key is not a key")
        }
        guard let signature = Hex.decode(value("signature")), signature.count == 64 else {
            throw bad("signature is not a signature")
        }
        guard let signer = PrincipalID(validating: value("signer")) else {
            throw bad("signer is not an id")
        }
        return Checkpoint(
            vaultID: value("vault"), entries: entries, head: head, time: time, signer: signer,
            signingKey: key, signature: signature)
    }

    /// Checks the file against the directory as it is: this vault, a signer enrolled, not revoked
    /// and allowed by the policy in force to sign checkpoints (a leaver's checkpoints stop
    /// counting), and a signature under one of the keys they ever held. Which of those keys was
    /// theirs when it was signed is checked by ``verifySigner(then:)`` once the log shows when.
    func verify(directory: Directory) throws(TutelaError) {
        guard vaultID == directory.vaultID else {
            throw .invalidInput("the checkpoint is for another vault (\(vaultID))")
        }
        guard let principal = directory.principals[signer] else {
            throw .invalidInput("the checkpoint's signer '\(signer)' is not enrolled in this vault")
        }
        guard let key = principal.everySigningKey.first(where: { $0.bytes == signingKey }) else {
            throw .invalidInput("the checkpoint's key is not the one enrolled for '\(signer)'")
        }
        let decision = directory.decideCheckpoint(signer: principal)
        guard decision.allowed else {
            throw .invalidInput(
                "the checkpoint is signed by '\(signer)', who may not sign checkpoints: "
                    + decision.rule)
        }
        let signed = Self.signedBytes(
            vaultID: vaultID, entries: entries, head: head, time: time, signer: signer)
        do { try key.verify(signature, for: signed) } catch {
            throw .invalidInput("the checkpoint's signature does not verify: the file was altered")
        }
    }

    /// Checks the key against the directory as it stood when the checkpoint was signed (the one
    /// its last entry committed to): it must be the key that was the signer's then, not one
    /// replaced before by a re-key (after a lost passphrase, say), which may be in other hands.
    func verifySigner(then directory: Directory) throws(TutelaError) {
        guard let principal = directory.principals[signer],
            principal.signingKeys(madeUnder: directory.statementCount).contains(where: {
                $0.bytes == signingKey
            })
        else {
            throw .invalidInput(
                "the checkpoint is not signed with the key '\(signer)' held when it was signed")
        }
    }
}

enum Hex {
    static func encode(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let h = nibble(chars[i]), let l = nibble(chars[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}

/// UTC timestamps as `YYYY-MM-DDTHH:MM:SSZ`.
public enum Timestamp {
    /// Formats `seconds` since 1970 as a UTC timestamp, such as `2026-11-29T15:20:00Z`.
    public static func iso(_ seconds: Int64) -> String {
        let (date, h, m, sec) = parts(seconds)
        return "\(date)T\(h):\(m):\(sec)Z"
    }

    /// Formats `seconds` since 1970 as the time in `zone` (an IANA name such as `Europe/London`)
    /// for people to read, such as `2026-11-29 15:20 GMT`; in UTC if the zone is unknown.
    public static func local(_ seconds: Int64, zone: String) -> String {
        guard let tz = TimeZone(identifier: zone) else { return iso(seconds) }
        let instant = Date(timeIntervalSince1970: TimeInterval(seconds))
        let shifted = seconds + Int64(tz.secondsFromGMT(for: instant))
        let (date, h, m, _) = parts(shifted)
        return "\(date) \(h):\(m) \(tz.abbreviation(for: instant) ?? zone)"
    }

    /// The day and the two-digit hour, minute and second of `seconds` since 1970.
    private static func parts(_ seconds: Int64) -> (CalendarDate, String, String, String) {
        let s = ((seconds % 86400) + 86400) % 86400
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return (
            CalendarDate(secondsSinceEpoch: seconds), two(s / 3600), two(s / 60 % 60), two(s % 60)
        )
    }

    /// Whether `zone` is a time zone this machine knows by its IANA name.
    public static func knows(zone: String) -> Bool { TimeZone(identifier: zone) != nil }

    static func parse(_ text: String) -> Int64? {
        let parts = text.split(separator: "T")
        guard parts.count == 2, let date = CalendarDate(String(parts[0])), parts[1].hasSuffix("Z")
        else {
            return nil
        }
        let clock = parts[1].dropLast().split(separator: ":")
        guard clock.count == 3, clock.allSatisfy({ $0.count == 2 }),
            let h = Int64(clock[0]), let m = Int64(clock[1]), let s = Int64(clock[2]),
            (0..<24).contains(h), (0..<60).contains(m), (0..<60).contains(s)
        else { return nil }
        return Int64(date.daysSinceEpoch) * 86400 + h * 3600 + m * 60 + s
    }
}
