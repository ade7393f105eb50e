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
    /// True from an administrator's reissue (a lost passphrase) until the person activates new
    /// keys with their code: meanwhile they hold no role and nothing is sealed to them.
    public internal(set) var awaitingKeys = false
    /// Every signing key they ever held, oldest first, each with the span of directory positions
    /// in which it was theirs: the last is current unless they were revoked.
    public internal(set) var keyPeriods: [KeyPeriod] = []

    /// Ends the current key's period at directory count `count`.
    mutating func retireKey(at count: Int64) {
        guard let last = keyPeriods.indices.last, keyPeriods[last].until == nil else { return }
        keyPeriods[last].until = count
    }

    /// Whether they hold `role` (a revoked principal holds none).
    public func has(_ role: Role) -> Bool { !revoked && !awaitingKeys && roles.contains(role) }

    /// The keys that could sign something made under a directory of `count` statements: the one
    /// that was theirs then, or none if they were not enrolled yet, or already revoked.
    public func signingKeys(madeUnder count: Int64) -> [SigningPublicKey] {
        keyPeriods.filter { $0.covers(count) }.map(\.signingKey)
    }

    /// Every signing key that was ever theirs, for finding which one signed something before its
    /// directory position is known; a caller must then check ``signingKeys(madeUnder:)``.
    public var everySigningKey: [SigningPublicKey] { keyPeriods.reversed().map(\.signingKey) }

    /// Whether something signed by them and claiming directory position `count`, whose signature
    /// verified under one of ``everySigningKey``, was signed by the key that was theirs at `count`.
    /// - Parameter verify: checks the signature against the keys it is given.
    func signed(madeUnder count: Int64, verify: ([SigningPublicKey]) -> Bool) -> Bool {
        let valid = signingKeys(madeUnder: count)
        if valid.isEmpty { return false }
        // With one key ever, the signature was already checked against it.
        return keyPeriods.count == 1 || verify(valid)
    }
}

/// A signing key's span of validity: the directory positions under which what it signs counts.
///
/// A directory position is the number of directory statements a signer's session had verified
/// (`count`): a key published by statement `n` is valid from count `n + 1`, and a key retired by
/// statement `m` (a re-key or a revocation) is valid below count `m + 1`.
public struct KeyPeriod: Sendable, Equatable {
    /// The Ed25519 public key.
    public let signingKey: SigningPublicKey
    /// The first directory count under which it is valid.
    public let from: Int64
    /// The first directory count under which it is no longer valid, or nil while it is current.
    public internal(set) var until: Int64?

    /// Whether it was valid under a directory of `count` statements.
    public func covers(_ count: Int64) -> Bool { count >= from && until.map { count < $0 } ?? true }
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
    /// The day they enrolled, if recorded: no leaving date is earlier.
    public let enrolled: CalendarDate?
    /// Who receives copies the learner agrees to: parents and carers, home school, provider.
    public let contacts: LearnerContacts

    func with(
        leftOn: CalendarDate? = nil, contacts: LearnerContacts? = nil, tutor: PrincipalID? = nil
    ) -> Learner {
        Learner(
            id: id, name: name, tutor: tutor ?? self.tutor, dateOfBirth: dateOfBirth,
            programme: programme,
            leftOn: leftOn ?? self.leftOn, enrolled: enrolled, contacts: contacts ?? self.contacts)
    }

    /// The same learner with their leaving date corrected to `date` (nil: not left).
    func correctingLeaving(to date: CalendarDate?) -> Learner {
        Learner(
            id: id, name: name, tutor: tutor, dateOfBirth: dateOfBirth, programme: programme,
            leftOn: date, enrolled: enrolled, contacts: contacts)
    }

    /// Why `date` cannot be this learner's leaving date, or nil when it can: never before their
    /// birth or their enrolment.
    func leavingProblem(_ date: CalendarDate) -> String? {
        if let dateOfBirth, date < dateOfBirth {
            return "the leaving date \(date) is before \(id)'s date of birth (\(dateOfBirth))"
        }
        if let enrolled, date < enrolled {
            return "the leaving date \(date) is before \(id) enrolled (\(enrolled))"
        }
        return nil
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
