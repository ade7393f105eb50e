import TutelaCrypto

/// One statement of the directory chain.
enum DirectoryStatement: Equatable {
    /// The most parents or carers one learner's contacts may name.
    static let maximumParents = 8

    /// The first statement: the vault, its authority, and the Argon2id profile every identity is
    /// sealed with. Self-signed.
    case establish(vaultID: String, authority: PrincipalData, kdf: PasswordKDF.Profile)
    case enrol(PrincipalData)
    case addLearner(LearnerData)
    case learnerLeft(learner: LearnerID, on: CalendarDate)
    /// Corrects a leaving date recorded wrongly: another date, or none (the learner has not left
    /// after all), with the reason, signed by an administrator like every statement.
    case correctLeaving(learner: LearnerID, on: CalendarDate?, reason: String)
    /// Replaces a learner's contacts.
    case learnerContacts(learner: LearnerID, LearnerContacts)
    /// Moves a learner to another tutor (a caseload reassignment).
    case reassign(learner: LearnerID, tutor: PrincipalID)
    /// Publishes policy `version` (1, 2, …): the YAML text exactly as checked.
    case publishPolicy(version: Int, text: [UInt8])
    /// Publishes version `version` of the key held by everyone with `role`.
    case groupKey(role: Role, version: Int, publicKey: [UInt8])
    /// A leaver: they can no longer act.
    case revoke(principal: PrincipalID)
    /// New keys for a principal who lost their passphrase.
    case rekey(principal: PrincipalID, signingKey: [UInt8], agreementKey: [UInt8])
    /// Replaces a principal's roles (joining or leaving a group).
    case setRoles(principal: PrincipalID, roles: [Role])
    /// An administrator's invitation: who, with which roles, and the public key a one-time
    /// enrolment code derives — the code itself is never stored. No private key exists yet.
    case invite(InviteData)
    /// New keys for someone who lost their passphrase: their current key retires here, and they
    /// activate new ones with the enrolment code whose public key this names.
    case reissue(principal: PrincipalID, codeKey: [UInt8], expires: Int64)
    /// The person's own activation, signed (the directory link) by the new signing key it
    /// publishes, with `proof` — a signature by the enrolment code's key over the new keys.
    case activate(
        principal: PrincipalID, signingKey: [UInt8], agreementKey: [UInt8], proof: [UInt8])

    struct InviteData: Equatable {
        var id: PrincipalID
        var name: String
        var roles: [Role]
        var codeKey: [UInt8]
        var expires: Int64
    }

    struct PrincipalData: Equatable {
        var id: PrincipalID
        var name: String
        var roles: [Role]
        var signingKey: [UInt8]
        var agreementKey: [UInt8]
    }

    struct LearnerData: Equatable {
        var id: LearnerID
        var name: String
        var tutor: PrincipalID
        var dateOfBirth: CalendarDate?
        var programme: String?
        var enrolled: CalendarDate?
    }

    /// 3 since #19: invitations and activations; statements are applied at their time. 4: group
    /// keys are signed by a holder of the role, and every published X25519 key is new and sealable.
    /// 5: a learner's tutor can be reassigned. 6: a learner's enrolment date, and corrections of
    /// a leaving date.
    static let version: UInt8 = 6
    static let maxText = 256

    func encode(at time: Int64) -> [UInt8] {
        var w = CanonicalWriter()
        w.u8(Self.version)
        w.i64(time)
        func principal(_ p: PrincipalData) {
            w.id(p.id)
            w.string(p.name)
            w.strings(p.roles.map(\.rawValue))
            w.fixed(p.signingKey)
            w.fixed(p.agreementKey)
        }
        switch self {
        case .establish(let vaultID, let authority, let kdf):
            w.u8(0)
            w.string(vaultID)
            principal(authority)
            w.string(kdf.rawValue)
        case .enrol(let p):
            w.u8(1)
            principal(p)
        case .addLearner(let l):
            w.u8(2)
            w.string(l.id.text)
            w.string(l.name)
            w.id(l.tutor)
            w.optionalString(l.dateOfBirth?.description)
            w.optionalString(l.programme)
            w.optionalString(l.enrolled?.description)
        case .learnerLeft(let learner, let on):
            w.u8(3)
            w.string(learner.text)
            w.string(on.description)
        case .learnerContacts(let learner, let contacts):
            w.u8(4)
            w.string(learner.text)
            w.ids(contacts.parents)
            w.optionalID(contacts.homeSchool)
            w.optionalID(contacts.provider)
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
            w.id(principal)
        case .rekey(let principal, let signingKey, let agreementKey):
            w.u8(8)
            w.id(principal)
            w.fixed(signingKey)
            w.fixed(agreementKey)
        case .setRoles(let principal, let roles):
            w.u8(9)
            w.id(principal)
            w.strings(roles.map(\.rawValue))
        case .invite(let i):
            w.u8(10)
            w.id(i.id)
            w.string(i.name)
            w.strings(i.roles.map(\.rawValue))
            w.fixed(i.codeKey)
            w.i64(i.expires)
        case .reissue(let principal, let codeKey, let expires):
            w.u8(11)
            w.id(principal)
            w.fixed(codeKey)
            w.i64(expires)
        case .activate(let principal, let signingKey, let agreementKey, let proof):
            w.u8(12)
            w.id(principal)
            w.fixed(signingKey)
            w.fixed(agreementKey)
            w.fixed(proof)
        case .reassign(let learner, let tutor):
            w.u8(13)
            w.string(learner.text)
            w.id(tutor)
        case .correctLeaving(let learner, let on, let reason):
            w.u8(14)
            w.string(learner.text)
            w.optionalString(on?.description)
            w.string(reason)
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
        func roleList() throws(TutelaError) -> [Role] {
            var roles: [Role] = []
            for raw in try r.strings("roles", maxCount: Role.allCases.count, max: 32) {
                guard let role = Role(rawValue: raw) else {
                    throw .tampered("\(context) names an unknown role")
                }
                roles.append(role)
            }
            return roles
        }
        func principal() throws(TutelaError) -> PrincipalData {
            let id: PrincipalID = try r.id("id")
            let name = try r.string("name", max: maxText)
            let roles = try roleList()
            return PrincipalData(
                id: id, name: name, roles: roles,
                signingKey: try r.fixed("signing key", count: 32),
                agreementKey: try r.fixed("agreement key", count: 32))
        }
        func date(_ text: String?) throws(TutelaError) -> CalendarDate? {
            guard let text else { return nil }
            guard let parsed = CalendarDate(text) else {
                throw .tampered("\(context) has a bad date")
            }
            return parsed
        }
        let statement: DirectoryStatement
        switch try r.u8("kind") {
        case 0:
            let vaultID = try r.string("vault id", max: 64)
            let authority = try principal()
            guard
                let kdf = PasswordKDF.Profile(rawValue: try r.string("kdf profile", max: 32))
            else { throw .tampered("\(context) names an unknown key-derivation profile") }
            statement = .establish(vaultID: vaultID, authority: authority, kdf: kdf)
        case 1:
            statement = .enrol(try principal())
        case 2:
            let id: LearnerID = try r.id("learner")
            let name = try r.string("name", max: maxText)
            let tutor: PrincipalID = try r.id("tutor")
            let dob = try r.optionalString("date of birth", max: 10)
            let programme = try r.optionalString("programme", max: maxText)
            let dateOfBirth = try date(dob)
            let enrolled = try date(try r.optionalString("enrolment date", max: 10))
            statement = .addLearner(
                LearnerData(
                    id: id, name: name, tutor: tutor, dateOfBirth: dateOfBirth,
                    programme: programme, enrolled: enrolled))
        case 3:
            let learner: LearnerID = try r.id("learner")
            statement = .learnerLeft(learner: learner, on: try r.date("leaving date"))
        case 4:
            let learner: LearnerID = try r.id("learner")
            statement = .learnerContacts(
                learner: learner,
                LearnerContacts(
                    parents: try r.ids("parents", maxCount: maximumParents),
                    homeSchool: try r.optionalID("home school"),
                    provider: try r.optionalID("provider")))
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
            statement = .revoke(principal: try r.id("principal"))
        case 8:
            statement = .rekey(
                principal: try r.id("principal"),
                signingKey: try r.fixed("signing key", count: 32),
                agreementKey: try r.fixed("agreement key", count: 32))
        case 9:
            let principal: PrincipalID = try r.id("principal")
            statement = .setRoles(principal: principal, roles: try roleList())
        case 10:
            let id: PrincipalID = try r.id("id")
            let name = try r.string("name", max: maxText)
            let roles = try roleList()
            statement = .invite(
                InviteData(
                    id: id, name: name, roles: roles,
                    codeKey: try r.fixed("enrolment code key", count: 32),
                    expires: try r.i64("expires")))
        case 11:
            statement = .reissue(
                principal: try r.id("principal"),
                codeKey: try r.fixed("enrolment code key", count: 32),
                expires: try r.i64("expires"))
        case 12:
            statement = .activate(
                principal: try r.id("principal"),
                signingKey: try r.fixed("signing key", count: 32),
                agreementKey: try r.fixed("agreement key", count: 32),
                proof: try r.fixed("proof", count: SigningPublicKey.signatureByteCount))
        case 13:
            let learner: LearnerID = try r.id("learner")
            statement = .reassign(learner: learner, tutor: try r.id("tutor"))
        case 14:
            let learner: LearnerID = try r.id("learner")
            let on = try date(try r.optionalString("leaving date", max: 10))
            statement = .correctLeaving(
                learner: learner, on: on, reason: try r.string("reason", max: 2000))
        default:
            throw .tampered("\(context) is of an unknown kind")
        }
        try r.finish()
        return (statement, time)
    }
}
