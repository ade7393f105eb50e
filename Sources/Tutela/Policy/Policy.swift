/// Who or what a policy rule names.
public enum Subject: Hashable, Sendable, CustomStringConvertible {
    /// The person who wrote the record.
    case author
    /// The learner's assigned tutor (at the time of the decision).
    case assignedTutor
    /// The learner the record is about, when enrolled as a principal with the learner role.
    case learner
    /// A copy recipient the learner agreed to on the form (only where the label lists it).
    case copies(CopyKind)
    /// Anyone holding a role.
    case role(Role)

    public var description: String {
        switch self {
        case .author: return "author"
        case .assignedTutor: return "assigned-tutor"
        case .learner: return "learner"
        case .copies(let kind): return "copies: \(kind.rawValue)"
        case .role(let role): return "role: \(role.rawValue)"
        }
    }
}

/// The copy recipients of the paper form's "Copies to" box.
public enum CopyKind: String, Sendable, CaseIterable, Codable {
    case learner
    case parentsCarers = "parents-carers"
    case homeSchool = "home-school"
    case workBasedProvider = "work-based-provider"
    case ilr
}

/// A value and the line of the policy file it came from, so decisions can cite their rule.
public struct Located<Value: Sendable & Hashable>: Sendable, Hashable {
    public let value: Value
    public let line: Int
}

/// A retention period: a trigger plus years, or the later/earlier of several.
public indirect enum RetentionRule: Sendable, Hashable, CustomStringConvertible {
    public enum Trigger: String, Sendable, CaseIterable {
        case created
        case learnerLeft = "learner-left"
        case dob
    }

    case after(Trigger, years: Int)
    case laterOf([RetentionRule])
    case earlierOf([RetentionRule])

    public var description: String {
        switch self {
        case .after(let trigger, let years): return "\(trigger.rawValue) + \(years) years"
        case .laterOf(let rules):
            return "later of (" + rules.map(\.description).joined(separator: ", ") + ")"
        case .earlierOf(let rules):
            return "earlier of (" + rules.map(\.description).joined(separator: ", ") + ")"
        }
    }
}

/// What happens when a retention period ends.
public enum Disposition: String, Sendable, Hashable {
    case destroy
    case review
}

public struct RetentionSchedule: Sendable, Hashable {
    public let keepUntil: RetentionRule
    public let then: Disposition
    public let line: Int
}

/// The break-glass quorum: `approvals` distinct people holding any of `approvers`.
public struct BreakGlassRules: Sendable, Hashable {
    public let approvals: Int
    public let approvers: [Role]
    public let requesters: [Role]
    public let lifetimeHours: Int
    public let line: Int
}

public struct SafeguardingRules: Sendable, Hashable {
    /// Who may flag a record of this class.
    public let flag: [Located<Subject>]
    /// Roles that open a flagged record (a disclosure, with a reason).
    public let openFlagged: [Located<Role>]
    public let breakGlass: BreakGlassRules?
    /// Whether copies for learners and parents leave safeguarding material out.
    public let withholdFromCopies: Bool
}

public struct RetentionRules: Sendable, Hashable {
    public let schedule: RetentionSchedule
    public let flagged: RetentionSchedule
    public let hold: [Located<Role>]
    public let destroy: [Located<Role>]
    /// Whether a second keeper must confirm a destruction.
    public let secondKeeper: Bool
}

/// Everything a policy says about one record class.
public struct ClassRules: Sendable, Hashable {
    public let recordClass: RecordClass
    /// The words on the envelope before the date ("Confidential tutorial").
    public let label: String
    /// Roles that may write records of this class.
    public let write: [Located<Role>]
    /// Who may open the contents.
    public let read: [Located<Subject>]
    /// Roles that see the label and never the contents.
    public let labelOnly: [Located<Role>]
    /// Explicit denials of the contents; they win over any allow.
    public let deny: [Located<Subject>]
    public let safeguarding: SafeguardingRules
    public let retention: RetentionRules
    public let line: Int
}

/// Audit-log rules that are not about one class.
public struct AuditRules: Sendable, Hashable {
    public let readAll: [Located<Role>]
    public let readOwn: [Located<Role>]
    public let checkpoint: [Located<Role>]
}

/// A parsed, validated access policy. The only place access is decided (see ``decide(_:)``).
public struct Policy: Sendable, Hashable {
    /// The file the policy came from, for citing rules.
    public let source: String
    public let name: String
    /// The roles this centre uses, with what they mean there.
    public let roles: [Role: String]
    public let classes: [RecordClass: ClassRules]
    public let audit: AuditRules
    /// The published version (1, 2, …) once applied to a vault; 0 for a file being checked.
    public let version: Int

    func published(as version: Int) -> Policy {
        Policy(
            source: source, name: name, roles: roles, classes: classes, audit: audit,
            version: version)
    }

    func rules(for recordClass: RecordClass) throws(TutelaError) -> ClassRules {
        guard let rules = classes[recordClass] else {
            throw .denied(
                "the policy has no rules for \(recordClass.rawValue) records (deny by default)")
        }
        return rules
    }

    func cite(_ path: String, _ line: Int) -> String { "\(path), \(source) line \(line)" }
}
