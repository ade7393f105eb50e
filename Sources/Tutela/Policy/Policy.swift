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

    /// The subject as decisions quote it: `author`, `assigned-tutor`, `learner`, `copies: KIND` or
    /// `role: ROLE`.
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
    /// A copy for the learner the record is about.
    case learner
    /// Copies for the learner's parents or carers, as linked with `learner contacts`.
    case parentsCarers = "parents-carers"
    /// A copy for the learner's home school, as linked with `learner contacts`.
    case homeSchool = "home-school"
    /// A copy for the learner's work-based provider, as linked with `learner contacts`.
    case workBasedProvider = "work-based-provider"
    /// A copy for the Individual Learner Record: any ILR officer may read it.
    case ilr
}

/// A value and the line of the policy file it came from, so decisions can cite their rule.
public struct Located<Value: Sendable & Hashable>: Sendable, Hashable {
    /// What the policy says at that point: a role, a subject, and so on.
    public let value: Value
    /// The line of the policy file the value was read from (counting from 1), cited in decisions.
    public let line: Int
}

/// A retention period: a trigger plus years, or the later/earlier of several.
public indirect enum RetentionRule: Sendable, Hashable, CustomStringConvertible {
    /// The event a retention period counts from; the raw value is how the policy file writes it.
    public enum Trigger: String, Sendable, CaseIterable {
        /// The day the record was sealed.
        case created
        /// The day the learner left; until it is recorded, the period has not started.
        case learnerLeft = "learner-left"
        /// The learner's date of birth; unknown when the directory records none.
        case dob
    }

    /// Ends `years` years after the trigger's date (`learner-left + 7 years`).
    case after(Trigger, years: Int)
    /// Ends when the last of these periods ends; unknown until every one of them is known.
    case laterOf([RetentionRule])
    /// Ends when the first of these periods ends, among those whose start is known.
    case earlierOf([RetentionRule])

    /// The rule in words, such as `learner-left + 7 years` or `later of (…)`, for reports and
    /// sign-off tables.
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
    /// The record becomes due for destruction.
    case destroy
    /// The record comes up for review, which keeps it until a later date or destroys it.
    case review
}

/// How long a record is kept, and what happens when that time is up.
public struct RetentionSchedule: Sendable, Hashable {
    /// When the retention period ends.
    public let keepUntil: RetentionRule
    /// What happens to the record when the period ends.
    public let then: Disposition
    /// The line of this schedule in the policy file (counting from 1), for citations.
    public let line: Int
}

/// The break-glass quorum: `approvals` distinct people holding any of `approvers`.
public struct BreakGlassRules: Sendable, Hashable {
    /// How many people must approve a request: 1–10, never more than the number of approver roles.
    public let approvals: Int
    /// Roles whose holders may approve; each role's group holds one share of the record's key.
    public let approvers: [Role]
    /// Roles whose holders may request break-glass.
    public let requesters: [Role]
    /// How long a request lasts, in hours (1–168; 24 when the policy does not say).
    public let lifetimeHours: Int
    /// The line of the `break-glass` section in the policy file (counting from 1), for citations.
    public let line: Int
}

/// Identity recovery after a lost passphrase: `approvals` distinct people, each in a different one
/// of `approvers`, release their group's share of the person's keys to a one-time code an
/// administrator gives the person.
public struct RecoveryRules: Sendable, Hashable {
    /// How many people must approve: 2–10, never more than the number of approver roles.
    public let approvals: Int
    /// Roles whose groups each hold one share of every person's keys.
    public let approvers: [Role]
    /// How long a request lasts, in hours (1–168; 72 when the policy does not say).
    public let lifetimeHours: Int
    /// The line of the `identity-recovery` section in the policy file (counting from 1).
    public let line: Int
}

/// A class's safeguarding rules: who flags, who opens flagged records, and break-glass.
public struct SafeguardingRules: Sendable, Hashable {
    /// Who may flag a record of this class.
    public let flag: [Located<Subject>]
    /// Roles that open a flagged record (a disclosure, with a reason).
    public let openFlagged: [Located<Role>]
    /// Emergency access to unflagged records, or nil when the class allows none.
    public let breakGlass: BreakGlassRules?
    /// Whether copies for learners and parents leave safeguarding material out.
    public let withholdFromCopies: Bool
}

/// A class's retention rules: how long records are kept, and who holds and destroys them.
public struct RetentionRules: Sendable, Hashable {
    /// The schedule of a record that is not flagged.
    public let schedule: RetentionSchedule
    /// The schedule that applies instead once a record is flagged.
    public let flagged: RetentionSchedule
    /// Roles that place and release holds.
    public let hold: [Located<Role>]
    /// Roles that propose destroying records that are due. Every destruction also takes a second
    /// person's agreement (``PolicyAction/agreeDestroy``), whatever the policy says.
    public let destroy: [Located<Role>]
}

/// Everything a policy says about one record class.
public struct ClassRules: Sendable, Hashable {
    /// The class these rules are for.
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
    /// Who flags records of this class, who opens flagged ones, and any break-glass.
    public let safeguarding: SafeguardingRules
    /// How long records of this class are kept, and who may hold or destroy them.
    public let retention: RetentionRules
    /// The line where the class's section starts in the policy file (counting from 1), cited when
    /// no finer rule decides.
    public let line: Int
}

/// Audit-log rules that are not about one class.
public struct AuditRules: Sendable, Hashable {
    /// Roles that read the whole audit log.
    public let readAll: [Located<Role>]
    /// Roles that read the audit entries of records they wrote themselves.
    public let readOwn: [Located<Role>]
    /// Roles that may sign audit checkpoints (the authority always may).
    public let checkpoint: [Located<Role>]
}

/// Who may list the people and learners of the directory (their names included).
///
/// Everyone always sees themselves; a tutor sees their tutees, a learner themselves, and a
/// parent, carer, home school or provider the learners they are linked to. The roles here see
/// everyone. Learners and their families may never be named here: one family does not learn who
/// another is.
public struct DirectoryRules: Sendable, Hashable {
    /// Roles that list every learner, with names, tutors and programmes.
    public let learners: [Located<Role>]
    /// Roles that list every enrolled person, with names, roles and standing.
    public let people: [Located<Role>]
    /// The line of the `directory:` section, or nil when the policy has none and the defaults
    /// apply.
    public let line: Int?

    /// Roles that may never list the directory: a family must not learn of another.
    static let neverListing: Set<Role> = [.learner, .parentCarer, .homeSchool, .workBasedProvider]

    /// What applies when a policy has no `directory:` section: the staff roles it declares
    /// (record-facing staff for learners, every staff role for people).
    static func defaults(declared: [Role: String]) -> DirectoryRules {
        let learners: [Role] = [
            .admin, .headOfCentre, .safeguardingOfficer, .recordKeeper, .ilrOfficer,
        ]
        let people: [Role] = [
            .admin, .headOfCentre, .safeguardingOfficer, .recordKeeper, .ilrOfficer, .tutor,
        ]
        func located(_ roles: [Role]) -> [Located<Role>] {
            roles.filter { declared[$0] != nil }.map { Located(value: $0, line: 0) }
        }
        return DirectoryRules(learners: located(learners), people: located(people), line: nil)
    }
}

/// A parsed, validated access policy. The only place access is decided (see ``decide(_:)``).
public struct Policy: Sendable, Hashable {
    /// The file the policy came from, for citing rules.
    public let source: String
    /// The policy's name, from its `name:` key ("11–18 school").
    public let name: String
    /// The roles this centre uses, with what they mean there.
    public let roles: [Role: String]
    /// The rules for each record class; a parsed policy has rules for every class.
    public let classes: [RecordClass: ClassRules]
    /// Who may read the audit log and sign checkpoints.
    public let audit: AuditRules
    /// Who may together recover a person's keys after a lost passphrase; nil when no one may (a
    /// lost passphrase then means new keys, and what was sealed only to the old ones is lost).
    public let identityRecovery: RecoveryRules?
    /// Who may list learners and people.
    public let directory: DirectoryRules
    /// The centre's time zone (an IANA name), in which times are shown to people; UTC in JSON.
    public let timeZone: String
    /// How long a server keeps someone signed in, when the centre wants it shorter than the
    /// server's own limits; nil for the server's.
    public var sessions: SessionLimits? = nil
    /// The roles whose holders must give a code from an authenticator app to sign in to a server,
    /// as the policy names them; nil for the default (``defaultSecondFactorRoles`` it declares).
    var secondFactor: Set<Role>? = nil
    /// The centre's calendar, review cadences and tutorial notice (`tutorials:`).
    public var tutorials: TutorialRules = .defaults

    /// The roles whose holders must give a second factor to sign in to a server (the authority
    /// always must): the policy's `second-factor: required:`, else the roles among safeguarding
    /// officers, heads of centre and administrators that it declares.
    public var secondFactorRoles: Set<Role> {
        secondFactor ?? Self.defaultSecondFactorRoles.filter { roles[$0] != nil }
    }

    /// Who must give a second factor when the policy does not say.
    public static let defaultSecondFactorRoles: Set<Role> = [
        .safeguardingOfficer, .headOfCentre, .admin,
    ]

    /// The time zone a policy without `timezone:` has.
    public static let defaultTimeZone = "Europe/London"
    /// The published version (1, 2, …) once applied to a vault; 0 for a file being checked.
    public let version: Int

    func published(as version: Int) -> Policy {
        Policy(
            source: source, name: name, roles: roles, classes: classes, audit: audit,
            identityRecovery: identityRecovery, directory: directory, timeZone: timeZone,
            sessions: sessions, secondFactor: secondFactor, tutorials: tutorials,
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

/// The policy's `sessions:` section: how long `tutela serve` keeps a person signed in. It can only
/// shorten the server's own limits (15 minutes unused, 8 hours in all), never lengthen them.
public struct SessionLimits: Sendable, Hashable {
    /// Minutes a session may sit unused.
    public let idleMinutes: Int?
    /// Hours a session lasts at most.
    public let hours: Int?
}
