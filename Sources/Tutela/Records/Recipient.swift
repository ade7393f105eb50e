/// Who a key slot or a box is sealed to: a person, or a role's group key at one version.
///
/// Stored by name — the person's id, or `group:ROLE#VERSION` — and parsed from a name once, here,
/// rather than by cutting strings where it is used.
public enum Recipient: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// A principal, by id.
    case person(PrincipalID)
    /// The group key of `role` at `version`.
    case group(Role, version: Int)

    /// The stored name: the person's id, or `group:ROLE#VERSION`.
    public var description: String {
        switch self {
        case .person(let id): return id.text
        case .group(let role, let version): return "group:\(role.rawValue)#\(version)"
        }
    }

    /// Parses a stored name.
    /// - Returns: nil for a name that is neither a valid id nor a group key's name.
    public init?(_ name: String) {
        guard name.hasPrefix("group:") else {
            guard let id = PrincipalID(validating: name) else { return nil }
            self = .person(id)
            return
        }
        let rest = name.dropFirst("group:".count)
        guard let hash = rest.lastIndex(of: "#"), let role = Role(rawValue: String(rest[..<hash])),
            let version = Int(rest[rest.index(after: hash)...]), version >= 1,
            "\(version)" == rest[rest.index(after: hash)...]
        else { return nil }
        self = .group(role, version: version)
    }

    /// Orders recipients by their stored names, as stores list slots.
    public static func < (lhs: Recipient, rhs: Recipient) -> Bool {
        lhs.description < rhs.description
    }
}

/// The key store's name for one generation of a record's shred key: the record id for the first
/// generation, `RECORD#GENERATION` after a re-encryption.
public struct ShredKeyID: Hashable, Sendable, CustomStringConvertible {
    /// The record the key belongs to.
    public let record: RecordID
    /// The envelope generation, 1 until the record is re-encrypted.
    public let generation: Int

    /// The key of `record`'s envelope `generation`.
    public init(record: RecordID, generation: Int) {
        self.record = record
        self.generation = generation
    }

    /// Parses a stored name.
    /// - Returns: nil for a name that names no record and generation.
    public init?(_ name: String) {
        guard let hash = name.lastIndex(of: "#") else {
            guard let record = RecordID(validating: name) else { return nil }
            self.init(record: record, generation: 1)
            return
        }
        let digits = name[name.index(after: hash)...]
        guard let generation = Int(digits), generation >= 2, "\(generation)" == digits,
            let record = RecordID(validating: String(name[..<hash]))
        else { return nil }
        self.init(record: record, generation: generation)
    }

    /// The stored name.
    public var description: String {
        generation == 1 ? record.text : "\(record)#\(generation)"
    }
}

/// A break-glass share's id: the record it splits the key of, and the group it is sealed to,
/// `RECORD/group:ROLE#VERSION`. Also the share's box binding.
public struct ShareID: Hashable, Sendable, CustomStringConvertible {
    /// The record whose data key the share is part of.
    public let record: RecordID
    /// The group the share is sealed to.
    public let holder: Recipient

    /// The share of `record` sealed to `holder`.
    public init(record: RecordID, holder: Recipient) {
        self.record = record
        self.holder = holder
    }

    /// Parses a stored id.
    /// - Returns: nil for an id that names no record and holder.
    public init?(_ id: String) {
        guard let slash = id.firstIndex(of: "/"),
            let record = RecordID(validating: String(id[..<slash])),
            let holder = Recipient(String(id[id.index(after: slash)...]))
        else { return nil }
        self.init(record: record, holder: holder)
    }

    /// The stored id.
    public var description: String { "\(record)/\(holder)" }
}

/// A group-member box's id: the group key and the member it is sealed to,
/// `group:ROLE#VERSION/MEMBER`.
struct MemberBoxID: Hashable, Sendable, CustomStringConvertible {
    /// The group whose private key the box holds.
    let group: Recipient
    /// The member it is sealed to.
    let member: PrincipalID

    init(group: Recipient, member: PrincipalID) {
        self.group = group
        self.member = member
    }

    /// Parses a stored id; nil for one that names no group and member.
    init?(_ id: String) {
        guard let slash = id.lastIndex(of: "/"),
            let group = Recipient(String(id[..<slash])), case .group = group,
            let member = PrincipalID(validating: String(id[id.index(after: slash)...]))
        else { return nil }
        self.init(group: group, member: member)
    }

    var description: String { "\(group)/\(member)" }
}
