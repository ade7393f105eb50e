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
    public let id: String
    /// Their name, for people to read.
    public let name: String
    /// The roles they hold, sorted; a revoked principal keeps the list but holds none of them.
    public internal(set) var roles: [Role]
    /// Their current public keys; a re-key replaces them.
    public internal(set) var identity: PublicIdentity
    /// True only for the vault's authority, created at `init`.
    public let isAuthority: Bool
    /// Who signed the enrolment.
    public let enrolledBy: String
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
    public let id: String
    /// The learner's name, for people to read.
    public let name: String
    /// The assigned tutor's principal id.
    public let tutor: String
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
    public var parents: [String] = []
    /// Principal id of the learner's home school (holding the home-school role), if any.
    public var homeSchool: String?
    /// Principal id of the learner's work-based provider (holding the work-based-provider role),
    /// if any.
    public var provider: String?

    /// Names a learner's contacts by principal id; each id's role is checked when the change is
    /// applied to the directory.
    public init(parents: [String] = [], homeSchool: String? = nil, provider: String? = nil) {
        self.parents = parents
        self.homeSchool = homeSchool
        self.provider = provider
    }
}

/// One statement of the directory chain.
enum DirectoryStatement: Equatable {
    /// The first statement: the vault and its authority. Self-signed.
    case establish(vaultID: String, authority: PrincipalData)
    case enrol(PrincipalData)
    case addLearner(LearnerData)
    case learnerLeft(learner: String, on: CalendarDate)
    /// Replaces a learner's contacts.
    case learnerContacts(learner: String, LearnerContacts)
    /// Publishes policy `version` (1, 2, …): the YAML text exactly as checked.
    case publishPolicy(version: Int, text: [UInt8])
    /// Publishes version `version` of the key held by everyone with `role`.
    case groupKey(role: Role, version: Int, publicKey: [UInt8])
    /// A leaver: they can no longer act.
    case revoke(principal: String)
    /// New keys for a principal who lost their passphrase.
    case rekey(principal: String, signingKey: [UInt8], agreementKey: [UInt8])
    /// Replaces a principal's roles (joining or leaving a group).
    case setRoles(principal: String, roles: [Role])

    struct PrincipalData: Equatable {
        var id: String
        var name: String
        var roles: [Role]
        var signingKey: [UInt8]
        var agreementKey: [UInt8]
    }

    struct LearnerData: Equatable {
        var id: String
        var name: String
        var tutor: String
        var dateOfBirth: CalendarDate?
        var programme: String?
    }

    static let version: UInt8 = 1
    static let maxText = 256

    func encode(at time: Int64) -> [UInt8] {
        var w = CanonicalWriter()
        w.u8(Self.version)
        w.i64(time)
        func principal(_ p: PrincipalData) {
            w.string(p.id)
            w.string(p.name)
            w.strings(p.roles.map(\.rawValue))
            w.fixed(p.signingKey)
            w.fixed(p.agreementKey)
        }
        switch self {
        case .establish(let vaultID, let authority):
            w.u8(0)
            w.string(vaultID)
            principal(authority)
        case .enrol(let p):
            w.u8(1)
            principal(p)
        case .addLearner(let l):
            w.u8(2)
            w.string(l.id)
            w.string(l.name)
            w.string(l.tutor)
            w.optionalString(l.dateOfBirth?.description)
            w.optionalString(l.programme)
        case .learnerLeft(let learner, let on):
            w.u8(3)
            w.string(learner)
            w.string(on.description)
        case .learnerContacts(let learner, let contacts):
            w.u8(4)
            w.string(learner)
            w.strings(contacts.parents)
            w.optionalString(contacts.homeSchool)
            w.optionalString(contacts.provider)
        case .publishPolicy(let version, let text):
            w.u8(5)
            w.u32(UInt32(version))
            w.data(text)
        case .groupKey(let role, let version, let publicKey):
            w.u8(6)
            w.string(role.rawValue)
            w.u32(UInt32(version))
            w.fixed(publicKey)
        case .revoke(let principal):
            w.u8(7)
            w.string(principal)
        case .rekey(let principal, let signingKey, let agreementKey):
            w.u8(8)
            w.string(principal)
            w.fixed(signingKey)
            w.fixed(agreementKey)
        case .setRoles(let principal, let roles):
            w.u8(9)
            w.string(principal)
            w.strings(roles.map(\.rawValue))
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8], context: String) throws(TutelaError) -> (
        DirectoryStatement, Int64
    ) {
        var r = CanonicalReader(bytes, context: context)
        guard try r.u8("version") == version else {
            throw .tampered("\(context) has an unknown version")
        }
        let time = try r.i64("time")
        func principal() throws(TutelaError) -> PrincipalData {
            let id = try r.string("id", max: Identifier.maximumLength)
            let name = try r.string("name", max: maxText)
            var roles: [Role] = []
            for raw in try r.strings("roles", maxCount: Role.allCases.count, max: 32) {
                guard let role = Role(rawValue: raw) else {
                    throw .tampered("\(context) names an unknown role")
                }
                roles.append(role)
            }
            return PrincipalData(
                id: id, name: name, roles: roles,
                signingKey: try r.fixed("signing key", count: 32),
                agreementKey: try r.fixed("agreement key", count: 32))
        }
        let statement: DirectoryStatement
        switch try r.u8("kind") {
        case 0:
            let vaultID = try r.string("vault id", max: 64)
            statement = .establish(vaultID: vaultID, authority: try principal())
        case 1:
            statement = .enrol(try principal())
        case 2:
            let id = try r.string("learner", max: Identifier.maximumLength)
            let name = try r.string("name", max: maxText)
            let tutor = try r.string("tutor", max: Identifier.maximumLength)
            let dob = try r.optionalString("date of birth", max: 10)
            let programme = try r.optionalString("programme", max: maxText)
            var dateOfBirth: CalendarDate?
            if let dob {
                guard let parsed = CalendarDate(dob) else {
                    throw .tampered("\(context) has a bad date")
                }
                dateOfBirth = parsed
            }
            statement = .addLearner(
                LearnerData(
                    id: id, name: name, tutor: tutor, dateOfBirth: dateOfBirth, programme: programme
                ))
        case 3:
            let learner = try r.string("learner", max: Identifier.maximumLength)
            statement = .learnerLeft(learner: learner, on: try r.date("leaving date"))
        case 4:
            let learner = try r.string("learner", max: Identifier.maximumLength)
            statement = .learnerContacts(
                learner: learner,
                LearnerContacts(
                    parents: try r.strings("parents", maxCount: 8, max: Identifier.maximumLength),
                    homeSchool: try r.optionalString("home school", max: Identifier.maximumLength),
                    provider: try r.optionalString("provider", max: Identifier.maximumLength)))
        case 5:
            let version = Int(try r.u32("policy version"))
            statement = .publishPolicy(
                version: version, text: try r.data("policy", max: Policy.maximumBytes))
        case 6:
            guard let role = Role(rawValue: try r.string("group", max: 64)) else {
                throw .tampered("\(context) names an unknown group")
            }
            let version = Int(try r.u32("group key version"))
            statement = .groupKey(
                role: role, version: version, publicKey: try r.fixed("group key", count: 32))
        case 7:
            statement = .revoke(principal: try r.string("principal", max: Identifier.maximumLength))
        case 8:
            statement = .rekey(
                principal: try r.string("principal", max: Identifier.maximumLength),
                signingKey: try r.fixed("signing key", count: 32),
                agreementKey: try r.fixed("agreement key", count: 32))
        case 9:
            let principal = try r.string("principal", max: Identifier.maximumLength)
            var roles: [Role] = []
            for raw in try r.strings("roles", maxCount: Role.allCases.count, max: 32) {
                guard let role = Role(rawValue: raw) else {
                    throw .tampered("\(context) names an unknown role")
                }
                roles.append(role)
            }
            statement = .setRoles(principal: principal, roles: roles)
        default:
            throw .tampered("\(context) is of an unknown kind")
        }
        try r.finish()
        return (statement, time)
    }
}

/// The verified directory: who is enrolled, with which roles and keys, and which learners exist.
///
/// It is only ever built by replaying the directory chain and checking every statement's position,
/// hash and signature, and that its signer was allowed to sign it. A row added to the database behind
/// Tutela's back therefore grants nothing: it makes the whole directory fail verification.
public struct Directory: Sendable {
    /// The vault's id, set by the first statement of the chain.
    public let vaultID: String
    /// The principal id of the vault's authority.
    public let authorityID: String
    /// Everyone ever enrolled, by id, revoked principals included.
    public private(set) var principals: [String: Principal] = [:]
    /// Every recorded learner, by id.
    public private(set) var learners: [String: Learner] = [:]
    /// The policy in force: the last one published, or nil before any is.
    public private(set) var policy: Policy?
    /// The current key of each role's group.
    public private(set) var groups: [Role: GroupKey] = [:]
    /// The last verified statement, which the next one must follow.
    private(set) var head: ChainLink?

    /// Replays and verifies `links`.
    /// - Parameter pinnedAuthorityKey: the authority's signing key recorded at init; the first
    ///   statement must be signed by exactly this key.
    static func verify(
        _ links: [ChainLink], pinnedAuthorityKey: [UInt8]
    ) throws(TutelaError) -> Directory {
        guard let first = links.first else { throw .tampered("the directory is empty") }
        let (genesis, _) = try DirectoryStatement.decode(first.body, context: "directory entry 0")
        guard case .establish(let vaultID, let authority) = genesis,
            authority.signingKey == pinnedAuthorityKey, first.signer == authority.id
        else { throw .tampered("directory entry 0 does not establish this vault's authority") }
        var directory = Directory(vaultID: vaultID, authorityID: authority.id, head: nil)
        let authorityKey = try? SigningPublicKey(bytes: pinnedAuthorityKey)
        try SignedChain.verify(first, in: .directory, after: nil, signerKey: authorityKey)
        do {
            try directory.apply(genesis, signer: first.signer, isGenesis: true)
        } catch {
            throw .tampered("directory entry 0 is not a valid statement: \(error.message)")
        }
        return try directory.advanced(to: first).extended(with: links.dropFirst())
    }

    /// This directory with `links` — the statements that follow its head — verified and applied:
    /// how a long-lived session catches up without replaying the whole chain.
    /// - Throws: `.tampered` when a link does not follow the head, is not signed by an
    ///   administrator of the directory as it stood, or is not a valid statement.
    func extended(with links: some Sequence<ChainLink>) throws(TutelaError) -> Directory {
        var directory = self
        var previous = head
        for link in links {
            let context = "directory entry \(link.sequence)"
            let signerKey = directory.administrator(link.signer)?.identity.signingKey
            try SignedChain.verify(link, in: .directory, after: previous, signerKey: signerKey)
            let (statement, _) = try DirectoryStatement.decode(link.body, context: context)
            do {
                try directory.apply(statement, signer: link.signer, isGenesis: false)
            } catch {
                throw .tampered("\(context) is not a valid statement: \(error.message)")
            }
            previous = link
        }
        return directory.advanced(to: previous)
    }

    private init(
        vaultID: String, authorityID: String, principals: [String: Principal] = [:],
        learners: [String: Learner] = [:], policy: Policy? = nil, head: ChainLink?
    ) {
        self.vaultID = vaultID
        self.authorityID = authorityID
        self.principals = principals
        self.learners = learners
        self.policy = policy
        self.head = head
    }

    /// A principal who may sign directory statements: the authority, or an admin it enrolled.
    public func administrator(_ id: String) -> Principal? {
        guard let p = principals[id], !p.revoked else { return nil }
        if p.isAuthority { return p }
        if p.has(.admin), p.enrolledBy == authorityID { return p }
        return nil
    }

    /// Checks a statement against the current state and applies it. Used both when verifying the
    /// stored chain and before signing a new statement, so the two can never disagree.
    mutating func apply(
        _ statement: DirectoryStatement, signer: String, isGenesis: Bool
    ) throws(TutelaError) {
        func principal(_ p: DirectoryStatement.PrincipalData, authority: Bool) throws(TutelaError)
            -> Principal
        {
            try Identifier.validate(p.id, as: "principal")
            guard principals[p.id] == nil else {
                throw .exists("principal '\(p.id)' is already enrolled")
            }
            guard !p.roles.isEmpty || authority else {
                throw .usage("a principal needs at least one role")
            }
            guard Set(p.roles).count == p.roles.count else {
                throw .usage("a role is listed twice")
            }
            let identity: PublicIdentity
            do {
                identity = PublicIdentity(
                    signingKey: try SigningPublicKey(bytes: p.signingKey),
                    agreementKey: try KeyAgreementPublicKey(bytes: p.agreementKey))
            } catch { throw .invalidInput("bad public key: \(error)") }
            return Principal(
                id: p.id, name: p.name, roles: p.roles.sorted(), identity: identity,
                isAuthority: authority, enrolledBy: signer)
        }
        switch statement {
        case .establish(_, let authority):
            guard isGenesis else {
                throw .invalidInput("only the first statement may establish a vault")
            }
            principals[authority.id] = try principal(authority, authority: true)
        case .enrol(let data):
            guard !isGenesis else {
                throw .invalidInput("the first statement must establish the vault")
            }
            principals[data.id] = try principal(data, authority: false)
        case .addLearner(let data):
            guard !isGenesis else {
                throw .invalidInput("the first statement must establish the vault")
            }
            try Identifier.validate(data.id, as: "learner")
            guard learners[data.id] == nil else {
                throw .exists("learner '\(data.id)' is already recorded")
            }
            guard let tutor = principals[data.tutor] else {
                throw .notFound("tutor '\(data.tutor)' is not enrolled")
            }
            guard tutor.has(.tutor) else {
                throw .usage("'\(data.tutor)' does not hold the tutor role")
            }
            learners[data.id] = Learner(
                id: data.id, name: data.name, tutor: data.tutor, dateOfBirth: data.dateOfBirth,
                programme: data.programme, leftOn: nil, contacts: LearnerContacts())
        case .learnerLeft(let id, let date):
            guard !isGenesis else {
                throw .invalidInput("the first statement must establish the vault")
            }
            guard let learner = learners[id] else {
                throw .notFound("learner '\(id)' is not recorded")
            }
            guard learner.leftOn == nil else {
                throw .exists(
                    "learner '\(id)' already left on \(learner.leftOn?.description ?? "")")
            }
            learners[id] = learner.with(leftOn: date)
        case .learnerContacts(let id, let contacts):
            guard !isGenesis else {
                throw .invalidInput("the first statement must establish the vault")
            }
            guard let learner = learners[id] else {
                throw .notFound("learner '\(id)' is not recorded")
            }
            guard Set(contacts.parents).count == contacts.parents.count else {
                throw .usage("a parent or carer is listed twice")
            }
            let links: [(String?, Role, String)] =
                contacts.parents.map { ($0, .parentCarer, "parent or carer") }
                + [
                    (contacts.homeSchool, .homeSchool, "home school"),
                    (contacts.provider, .workBasedProvider, "provider"),
                ]
            for case (let id?, let role, let what) in links {
                guard let p = principals[id] else {
                    throw .notFound("\(what) '\(id)' is not enrolled")
                }
                guard p.has(role) else {
                    throw .usage("'\(id)' does not hold the \(role.rawValue) role")
                }
            }
            learners[id] = learner.with(contacts: contacts)
        case .publishPolicy(let version, let text):
            guard !isGenesis else {
                throw .invalidInput("the first statement must establish the vault")
            }
            guard version == (policy?.version ?? 0) + 1 else {
                throw .invalidInput(
                    "policy version \(version) does not follow version \(policy?.version ?? 0)")
            }
            policy = try Policy.parse(text, source: "policy v\(version)").published(as: version)
        case .groupKey(let role, let version, let publicKey):
            guard !isGenesis else {
                throw .invalidInput("the first statement must establish the vault")
            }
            guard version == (groups[role]?.version ?? 0) + 1 else {
                throw .invalidInput(
                    "group key \(role.rawValue) v\(version) does not follow the version before it")
            }
            do {
                groups[role] = GroupKey(
                    role: role, version: version,
                    publicKey: try KeyAgreementPublicKey(bytes: publicKey))
            } catch { throw .invalidInput("bad group key: \(error)") }
        case .revoke(let id):
            guard let p = principals[id] else { throw .notFound("no one is enrolled as '\(id)'") }
            guard !p.isAuthority else {
                throw .usage(
                    "the authority cannot be revoked", hint: "recover it from its shares instead")
            }
            guard !p.revoked else { throw .exists("'\(id)' was already revoked") }
            guard id != signer else { throw .usage("no one revokes themselves") }
            principals[id]?.revoked = true
        case .setRoles(let id, let roles):
            guard let p = principals[id] else { throw .notFound("no one is enrolled as '\(id)'") }
            guard !p.revoked else { throw .usage("'\(id)' was revoked") }
            guard !p.isAuthority else { throw .usage("the authority's roles do not change") }
            guard !roles.isEmpty, Set(roles).count == roles.count else {
                throw .usage("give each role once, and at least one")
            }
            principals[id]?.roles = roles.sorted()
        case .rekey(let id, let signingKey, let agreementKey):
            guard let p = principals[id] else { throw .notFound("no one is enrolled as '\(id)'") }
            guard !p.revoked else {
                throw .usage("'\(id)' was revoked; enrol them again under a new id")
            }
            do {
                let identity = PublicIdentity(
                    signingKey: try SigningPublicKey(bytes: signingKey),
                    agreementKey: try KeyAgreementPublicKey(bytes: agreementKey))
                principals[id]?.formerSigningKeys.insert(p.identity.signingKey, at: 0)
                principals[id]?.identity = identity
            } catch { throw .invalidInput("bad public key: \(error)") }
        }
    }

    /// This directory with `link` as its new head, after the statement in it was applied.
    func advanced(to link: ChainLink?) -> Directory {
        var copy = self
        copy.head = link
        return copy
    }

    /// A directory that was never signed, for asking the policy about imaginary people (sign-off
    /// tables and tests). Never used for a real vault.
    static func synthetic(principals: [Principal], learner: Learner) -> Directory {
        Directory(
            vaultID: "policy-check", authorityID: "policy-check",
            principals: Dictionary(uniqueKeysWithValues: principals.map { ($0.id, $0) }),
            learners: [learner.id: learner], head: nil)
    }

    func with(policy: Policy?) -> Directory {
        var copy = self
        copy.policy = policy
        return copy
    }

    /// Principals holding `role`, in id order.
    func holders(of role: Role) -> [Principal] {
        principals.values.filter { $0.has(role) }.sorted { $0.id < $1.id }
    }

    /// Whether `id` names an enrolled principal who holds the learner role for that learner.
    public func learnerPrincipal(_ learnerID: String) -> Principal? {
        guard let p = principals[learnerID], p.has(.learner) else { return nil }
        return p
    }
}

/// A published group key: version `version` of the key every holder of `role` can use.
public struct GroupKey: Sendable, Equatable {
    /// The role whose holders share this key.
    public let role: Role
    /// The key's version: 1 for the first, one more for each replacement.
    public let version: Int
    /// The X25519 public key that slots and break-glass shares for the group are sealed to.
    public let publicKey: KeyAgreementPublicKey

    /// The recipient name of slots and shares sealed to this key: `group:ROLE#VERSION`.
    public var recipient: String { "group:\(role.rawValue)#\(version)" }
}
