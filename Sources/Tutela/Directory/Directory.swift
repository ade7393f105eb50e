public import TutelaCrypto

/// The verified directory: who is enrolled, with which roles and keys, and which learners exist.
///
/// It is only ever built by replaying the directory chain and checking every statement's position,
/// hash and signature, and that its signer was allowed to sign it. A row added to the database behind
/// Tutela's back therefore grants nothing: it makes the whole directory fail verification.
///
/// Over 400 lines because one `apply` checks every kind of statement in one place: no statement
/// reaches the directory's state except through its checks.
public struct Directory: Sendable {
    /// The vault's id, set by the first statement of the chain.
    public let vaultID: String
    /// The principal id of the vault's authority.
    public let authorityID: PrincipalID
    /// The Argon2id profile every identity in this vault is sealed with, as the authority signed
    /// it when the vault was made: a changed row in the store cannot weaken later enrolments.
    public let kdfProfile: PasswordKDF.Profile
    /// Everyone ever enrolled, by id, revoked principals included.
    public internal(set) var principals: [PrincipalID: Principal] = [:]
    /// Every recorded learner, by id.
    public internal(set) var learners: [LearnerID: Learner] = [:]
    /// The policy in force: the last one published, or nil before any is.
    public private(set) var policy: Policy?
    /// The current key of each role's group.
    public internal(set) var groups: [Role: GroupKey] = [:]
    /// Every X25519 key any statement has published, principals' and groups': none is published
    /// twice (``publishAgreementKey(_:of:)``).
    internal(set) var publishedAgreementKeys: Set<[UInt8]> = []
    /// Enrolments (and re-keys) waiting for their person to activate them, by principal id.
    public internal(set) var invitations: [PrincipalID: Invitation] = [:]
    /// Every person's and learner's id by its lower-case spelling, for reading ids typed in any
    /// case without a scan (``resolve(_:)-(PrincipalID)``).
    var personFolds: [String: PrincipalID] = [:]
    var learnerFolds: [String: LearnerID] = [:]
    /// Every verified statement, in order: what ``asOf(_:)`` replays.
    private(set) var statements: [ChainLink] = []
    /// Directories as they stood earlier, replayed on demand.
    let history = DirectoryHistory()
    /// The last verified statement, which the next one must follow.
    private(set) var head: ChainLink?

    /// Replays and verifies `links`.
    /// - Parameter pinnedAuthorityKey: the authority's signing key recorded at init; the first
    ///   statement must be signed by exactly this key.
    static func verify(
        _ links: [ChainLink], pinnedAuthorityKey: [UInt8]
    ) throws(TutelaError) -> Directory {
        guard let first = links.first else { throw .tampered("the directory is empty") }
        let (genesis, genesisTime) = try DirectoryStatement.decode(
            first.body, context: "directory entry 0")
        guard case .establish(let vaultID, let authority, let kdf) = genesis,
            authority.signingKey == pinnedAuthorityKey, first.signer == authority.id
        else { throw .tampered("directory entry 0 does not establish this vault's authority") }
        var directory = Directory(
            vaultID: vaultID, authorityID: authority.id, kdfProfile: kdf, head: nil)
        let authorityKey = try? SigningPublicKey(bytes: pinnedAuthorityKey)
        try SignedChain.verify(first, in: .directory, after: nil, signerKey: authorityKey)
        do {
            try directory.apply(
                genesis, signer: first.signer, isGenesis: true, time: genesisTime)
        } catch {
            throw .tampered("directory entry 0 is not a valid statement: \(error.message)")
        }
        directory.statements = [first]
        return try directory.advanced(to: first).extended(with: links.dropFirst())
    }

    /// The directory after the first `count` of `statements` — statements a directory already
    /// verified — applied again without checking their signatures a second time, from `base` (an
    /// earlier replay of the same chain) when given.
    static func replayed(
        _ statements: [ChainLink], count: Int, from base: Directory?
    ) throws(TutelaError) -> Directory {
        var directory: Directory
        if let base, base.statements.count <= count {
            directory = base
        } else {
            guard let first = statements.first else { throw .tampered("the directory is empty") }
            let (genesis, time) = try DirectoryStatement.decode(
                first.body, context: "directory entry 0")
            guard case .establish(let vaultID, let authority, let kdf) = genesis else {
                throw .tampered("directory entry 0 does not establish the vault")
            }
            directory = Directory(
                vaultID: vaultID, authorityID: authority.id, kdfProfile: kdf, head: first)
            try directory.apply(genesis, signer: first.signer, isGenesis: true, time: time)
            directory.statements = [first]
        }
        for link in statements[directory.statements.count..<count] {
            let (statement, time) = try DirectoryStatement.decode(
                link.body, context: "directory entry \(link.sequence)")
            try directory.apply(statement, signer: link.signer, isGenesis: false, time: time)
            directory.statements.append(link)
            directory.head = link
        }
        return directory
    }

    /// This directory with `links` — the statements that follow its head — verified and applied:
    /// how a long-lived session catches up without replaying the whole chain.
    /// - Throws: `.tampered` when a link does not follow the head, is not signed by whoever the
    ///   directory as it stood lets sign it, or is not a valid statement.
    func extended(with links: some Sequence<ChainLink>) throws(TutelaError) -> Directory {
        var directory = self
        var previous = head
        for link in links {
            let context = "directory entry \(link.sequence)"
            let (statement, time) = try DirectoryStatement.decode(link.body, context: context)
            // Every statement is an administrator's, but for a person's activation of their own
            // enrolment, signed by the key it publishes (and proven by their enrolment code), a
            // person's re-key of their own keys, and a group key, signed by a holder of the role.
            let signerKey: SigningPublicKey?
            if case .activate(let id, let key, _, _) = statement, id == link.signer {
                signerKey = try? SigningPublicKey(bytes: key)
            } else if case .rekey(let id, _, _) = statement, id == link.signer,
                let me = directory.principals[id], !me.revoked, !me.awaitingKeys
            {
                // A person replacing their own keys (a passphrase change) signs with the current one.
                signerKey = me.identity.signingKey
            } else if case .groupKey(let role, _, _) = statement,
                let member = directory.principals[link.signer], member.has(role)
            {
                // A group's key is published by the holder of the role who made it.
                signerKey = member.identity.signingKey
            } else {
                signerKey = directory.administrator(link.signer)?.identity.signingKey
            }
            try SignedChain.verify(link, in: .directory, after: previous, signerKey: signerKey)
            do {
                try directory.apply(statement, signer: link.signer, isGenesis: false, time: time)
            } catch {
                throw .tampered("\(context) is not a valid statement: \(error.message)")
            }
            directory.statements.append(link)
            previous = link
        }
        return directory.advanced(to: previous)
    }

    private init(
        vaultID: String, authorityID: PrincipalID, kdfProfile: PasswordKDF.Profile,
        principals: [PrincipalID: Principal] = [:],
        learners: [LearnerID: Learner] = [:], policy: Policy? = nil, head: ChainLink?
    ) {
        self.vaultID = vaultID
        self.authorityID = authorityID
        self.kdfProfile = kdfProfile
        self.principals = principals
        self.learners = learners
        self.policy = policy
        self.head = head
    }

    /// A principal who may sign directory statements: the authority, or an admin it enrolled.
    public func administrator(_ id: PrincipalID) -> Principal? {
        guard let p = principals[id], !p.revoked else { return nil }
        if p.isAuthority { return p }
        if p.has(.admin), p.enrolledBy == authorityID { return p }
        return nil
    }

    /// Checks a statement against the current state and applies it. Used both when verifying the
    /// stored chain and before signing a new statement, so the two can never disagree.
    mutating func apply(
        _ statement: DirectoryStatement, signer: PrincipalID, isGenesis: Bool, time: Int64
    ) throws(TutelaError) {
        // A statement's time is its signer's word; `audit verify` holds it to the time of the audit
        // entry that committed it (see ``AuditLog``), so an activation cannot be dated back into
        // its code's life once the log has moved past it.
        // This statement's position is the number applied before it; what it publishes counts
        // under every directory that includes it.
        let validFrom = Int64(statements.count) + 1
        func principal(_ p: DirectoryStatement.PrincipalData, authority: Bool) throws(TutelaError)
            -> Principal
        {
            guard principals[p.id] == nil else {
                throw .exists("principal '\(p.id)' is already enrolled")
            }
            guard invitations[p.id] == nil else {
                throw .exists("principal '\(p.id)' is already invited to enrol")
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
                isAuthority: authority, enrolledBy: signer,
                keyPeriods: [KeyPeriod(signingKey: identity.signingKey, from: validFrom)])
        }
        switch statement {
        case .establish(_, let authority, _):
            guard isGenesis else {
                throw .invalidInput("only the first statement may establish a vault")
            }
            try requireDistinct(authority.id.text, learner: false)
            principals[authority.id] = try principal(authority, authority: true)
            personFolds[authority.id.text.lowercased()] = authority.id
            _ = try publishAgreementKey(authority.agreementKey, of: "the authority's key")
        case .enrol:
            // Keys made by an administrator for someone else: never accepted since #19.
            throw .usage(
                "people make their own keys: an administrator invites them with an enrolment code")
        case .addLearner, .learnerLeft, .correctLeaving, .learnerContacts, .reassign:
            guard !isGenesis else {
                throw .invalidInput("the first statement must establish the vault")
            }
            try applyLearnerStatement(statement)
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
            // A group's key is made by one of its own holders, in their own process: an
            // administrator who does not hold the role never has it (#19).
            guard principals[signer]?.has(role) == true else {
                throw .denied(
                    "only a holder of the \(role.rawValue) role makes its group key",
                    hint: "a member of the group runs: tutela group create \(role.rawValue)")
            }
            guard version == (groups[role]?.version ?? 0) + 1 else {
                throw .invalidInput(
                    "group key \(role.rawValue) v\(version) does not follow the version before it")
            }
            groups[role] = GroupKey(
                role: role, version: version,
                publicKey: try publishAgreementKey(
                    publicKey, of: "the \(role.rawValue) group key v\(version)"))
        case .revoke(let id):
            if principals[id] == nil, invitations[id] != nil {
                // An enrolment never activated is withdrawn: its code no longer works.
                invitations[id] = nil
                return
            }
            guard let p = principals[id] else { throw .notFound("no one is enrolled as '\(id)'") }
            guard !p.isAuthority else {
                throw .usage(
                    "the authority cannot be revoked", hint: "recover it from its shares instead")
            }
            guard !p.revoked else { throw .exists("'\(id)' was already revoked") }
            guard id != signer else { throw .usage("no one revokes themselves") }
            principals[id]?.revoked = true
            principals[id]?.retireKey(at: validFrom)
            markRotationDue(p.roles, at: validFrom, leaving: id)
            invitations[id] = nil
        case .invite(let data):
            guard !isGenesis else {
                throw .invalidInput("the first statement must establish the vault")
            }
            try applyInvite(data, signer: signer, time: time)
        case .reissue(let id, let codeKey, let expires):
            try applyReissue(
                id, codeKey: codeKey, expires: expires, signer: signer, time: time,
                validFrom: validFrom)
        case .activate(let id, let signingKey, let agreementKey, let proof):
            try applyActivate(
                id, signingKey: signingKey, agreementKey: agreementKey, proof: proof,
                signer: signer, time: time, validFrom: validFrom)
        case .setRoles(let id, let roles):
            guard let p = principals[id] else { throw .notFound("no one is enrolled as '\(id)'") }
            guard !p.revoked else { throw .usage("'\(id)' was revoked") }
            guard !p.isAuthority else { throw .usage("the authority's roles do not change") }
            // An administrator giving themselves a role would give themselves its group key.
            guard id != signer else {
                throw .denied(
                    "no one changes their own roles", hint: "another administrator does it")
            }
            guard !roles.isEmpty, Set(roles).count == roles.count else {
                throw .usage("give each role once, and at least one")
            }
            markRotationDue(p.roles.filter { !roles.contains($0) }, at: validFrom, leaving: id)
            principals[id]?.roles = roles.sorted()
        case .rekey(let id, let signingKey, let agreementKey):
            guard let p = principals[id] else { throw .notFound("no one is enrolled as '\(id)'") }
            guard !p.isAuthority || signer == id else {
                throw .denied(
                    "only the authority itself re-keys the authority",
                    hint: "a lost authority passphrase is recovered from its trustees' shares")
            }
            guard !p.revoked else {
                throw .usage("'\(id)' was revoked; enrol them again under a new id")
            }
            guard !p.awaitingKeys else {
                throw .denied(
                    "the keys of '\(id)' were reissued: only the enrolment code makes new ones")
            }
            guard signer == id else {
                throw .denied(
                    "only '\(id)' makes their own keys",
                    hint: "an administrator reissues an enrolment code instead")
            }
            let agreement = try publishAgreementKey(agreementKey, of: "the new key of '\(id)'")
            // Whatever group keys the old key opened may be in other hands with it. They keep
            // theirs: their boxes are re-wrapped to the new key.
            markRotationDue(p.roles, at: validFrom, leaving: nil)
            do {
                let identity = PublicIdentity(
                    signingKey: try SigningPublicKey(bytes: signingKey), agreementKey: agreement)
                principals[id]?.retireKey(at: validFrom)
                principals[id]?.keyPeriods.append(
                    KeyPeriod(signingKey: identity.signingKey, from: validFrom))
                principals[id]?.identity = identity
            } catch { throw .invalidInput("bad public key: \(error)") }
        }
    }

    /// This directory after this session signed and stored `link`, whose statement was applied to
    /// it already: its new head, and one more statement for ``asOf(_:)`` to replay.
    func recorded(_ link: ChainLink) -> Directory {
        var copy = self
        copy.head = link
        copy.statements.append(link)
        return copy
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
            vaultID: "policy-check", authorityID: PrincipalID(constant: "policy-check"),
            kdfProfile: .interactive,
            principals: Dictionary(uniqueKeysWithValues: principals.map { ($0.id, $0) }),
            learners: [learner.id: learner], head: nil)
    }

    func with(policy: Policy?) -> Directory {
        var copy = self
        copy.policy = policy
        return copy
    }

    /// Principals holding `role`, in id order.
    public func holders(of role: Role) -> [Principal] {
        principals.values.filter { $0.has(role) }.sorted { $0.id < $1.id }
    }

    /// Whether `id` names an enrolled principal who holds the learner role for that learner.
    public func learnerPrincipal(_ learnerID: LearnerID) -> Principal? {
        guard let id = PrincipalID(validating: learnerID.text), let p = principals[id],
            p.has(.learner)
        else { return nil }
        return p
    }
}
