public import TutelaCrypto

/// The roles a person can hold.
public enum Role: String, CaseIterable, Sendable, Codable, Comparable {
    /// Form and course tutors; a learner's assigned tutor must hold this role.
    case tutor
    /// A learner enrolled to read their own records (most learners never log in).
    case learner
    /// Safeguarding staff, such as the designated safeguarding lead.
    case safeguardingOfficer = "safeguarding-officer"
    /// The head of the school or college; the only role that reviews disclosures and break-glass.
    case headOfCentre = "head-of-centre"
    /// Whoever manages the records and their retention.
    case recordKeeper = "record-keeper"
    /// An administrator; one enrolled by the authority may sign directory statements.
    case admin
    /// A parent or carer, linked to their child with `learner contacts`.
    case parentCarer = "parent-carer"
    /// A learner's home school (an organisation), linked with `learner contacts`.
    case homeSchool = "home-school"
    /// A work-based provider (an organisation), linked with `learner contacts`.
    case workBasedProvider = "work-based-provider"
    /// Whoever keeps the Individual Learner Record.
    case ilrOfficer = "ilr-officer"

    /// Orders roles by name, so that lists of roles print alphabetically.
    public static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }

    /// Parses a role name as typed, listing the valid ones when it is not one.
    public static func parse(_ text: String) throws(TutelaError) -> Role {
        guard let role = Role(rawValue: text) else {
            throw .usage(
                "'\(Identifier.printable(text))' is not a role",
                hint: "roles: " + Role.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return role
    }
}

/// An enrolled person, as the verified directory knows them.
public struct Principal: Sendable, Equatable {
    /// Their unique id, as given to `--as` on the command line.
    public let id: PrincipalID
    /// Their name, for people to read.
    public let name: String
    /// The roles they hold, sorted; a revoked principal keeps the list but holds none of them.
    public internal(set) var roles: [Role]
    /// Their current public keys; a re-key replaces them.
    public internal(set) var identity: PublicIdentity
    /// True only for the vault's authority, created at `init`.
    public let isAuthority: Bool
    /// Who signed the enrolment.
    public let enrolledBy: PrincipalID
    /// A revoked principal can no longer act; what they signed before stays verifiable.
    public internal(set) var revoked = false
    /// Signing keys replaced by a re-key (lost passphrase), still valid for what they signed before.
    public internal(set) var formerSigningKeys: [SigningPublicKey] = []

    /// Whether they hold `role` (a revoked principal holds none).
    public func has(_ role: Role) -> Bool { !revoked && roles.contains(role) }

    /// Every signing key that was ever theirs: the current one first.
    public var signingKeys: [SigningPublicKey] { [identity.signingKey] + formerSigningKeys }
}

/// A learner: the person records are about. Not necessarily a principal (most learners never log in).
public struct Learner: Sendable, Equatable {
    /// The learner's unique id, written on the label of every record about them.
    public let id: LearnerID
    /// The learner's name, for people to read.
    public let name: String
    /// The assigned tutor's principal id.
    public let tutor: PrincipalID
    /// Their date of birth, or nil if none is recorded (then `dob` retention periods cannot start).
    public let dateOfBirth: CalendarDate?
    /// Their programme of study, if one is recorded.
    public let programme: String?
    /// The day they left, or nil while they have not; it starts `learner-left` retention periods.
    public let leftOn: CalendarDate?
    /// Who receives copies the learner agrees to: parents and carers, home school, provider.
    public let contacts: LearnerContacts

    func with(leftOn: CalendarDate? = nil, contacts: LearnerContacts? = nil) -> Learner {
        Learner(
            id: id, name: name, tutor: tutor, dateOfBirth: dateOfBirth, programme: programme,
            leftOn: leftOn ?? self.leftOn, contacts: contacts ?? self.contacts)
    }
}

/// The principals who stand for a learner's copy recipients.
public struct LearnerContacts: Sendable, Equatable {
    /// Principal ids of the learner's parents or carers, each holding the parent-carer role.
    public var parents: [PrincipalID] = []
    /// Principal id of the learner's home school (holding the home-school role), if any.
    public var homeSchool: PrincipalID?
    /// Principal id of the learner's work-based provider (holding the work-based-provider role),
    /// if any.
    public var provider: PrincipalID?

    /// Names a learner's contacts by principal id; each id's role is checked when the change is
    /// applied to the directory.
    public init(
        parents: [PrincipalID] = [], homeSchool: PrincipalID? = nil, provider: PrincipalID? = nil
    ) {
        self.parents = parents
        self.homeSchool = homeSchool
        self.provider = provider
    }
}
