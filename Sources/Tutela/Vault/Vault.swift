import Foundation
public import TutelaCrypto

/// A vault: the front door to everything Tutela keeps.
///
/// Nothing here trusts the store: the directory is re-verified from its signed chain whenever a
/// session starts, envelopes are checked against their author's signature before anything is decided,
/// and every release of plaintext is preceded by a durable audit entry.
public struct Vault: Sendable {
    /// Where the vault's data is kept: trusted to keep it, never to vouch for it.
    public let store: any VaultStore
    /// Where times and dates come from: `.system`, or a fixed clock in tests.
    public let clock: Clock
    /// Where this machine remembers each vault's last audit head (nil: no rollback check).
    public let pins: (any HeadPinStore)?

    /// A vault over `store`; nothing is read until it is used.
    public init(
        store: any VaultStore, clock: Clock = .system, pins: (any HeadPinStore)? = nil
    ) {
        self.store = store
        self.clock = clock
        self.pins = pins
    }

    /// Creates a new vault with its authority identity.
    /// - Returns: the authority's public identity, whose fingerprint should be written down.
    /// - Throws: `.exists` if the store already holds a vault; `.usage` for a bad id or passphrase.
    @discardableResult
    public static func create(
        store: any VaultStore, authorityID: PrincipalID, authorityName: String,
        passphrase: Passphrase, kdf: PasswordKDF.Profile, clock: Clock = .system,
        pins: (any HeadPinStore)? = nil, policy: (text: [UInt8], source: String)? = nil
    ) async throws -> PublicIdentity {
        if let policy { _ = try Policy.check(policy.text, source: policy.source) }
        try validateName(authorityName)
        try passphrase.validateAsNew()
        let identity = try Identity.generate(principal: authorityID)
        let sealed = try SealedIdentity.seal(identity, passphrase: passphrase, cost: kdf.cost)
        let now = clock.now()
        let vaultID: String
        do {
            vaultID = try SecureRandom.bytes(count: 16).map { String(format: "%02x", $0) }.joined()
        } catch {
            throw TutelaError.internal("\(error)")
        }
        let pub = identity.publicIdentity
        let genesis = DirectoryStatement.establish(
            vaultID: vaultID,
            authority: .init(
                id: authorityID, name: authorityName, roles: [.admin],
                signingKey: pub.signingKey.bytes, agreementKey: pub.agreementKey.bytes),
            kdf: kdf)
        let meta = VaultMeta(
            vaultID: vaultID, authorityID: authorityID, authoritySigningKey: pub.signingKey.bytes,
            kdfProfile: kdf.rawValue, createdAt: now)
        let entry = AuditEntry(
            action: .initialize, actor: authorityID, subject: vaultID, outcome: .allowed,
            reason: "vault created", time: now, policyVersion: "none")
        let publish = policy.map { DirectoryStatement.publishPolicy(version: 1, text: $0.text) }
        let policyEntry = AuditEntry(
            action: .policyApply, actor: authorityID, subject: "policy v1", outcome: .allowed,
            reason: policy.map { "applied \($0.source) at init" }, time: now, policyVersion: "1")
        let head = try await StateTransaction.run(store, directory: nil, cache: nil) { tx in
            try await tx.create(meta)
            try await tx.insert(sealed)
            let first = try SignedChain.link(
                .directory, after: nil, body: genesis.encode(at: now), signer: identity)
            try await tx.append(first, to: .directory)
            try await Session.appendAudit(entry, tx: tx, signer: identity)
            if let publish {
                try await tx.append(
                    SignedChain.link(
                        .directory, after: first, body: publish.encode(at: now), signer: identity),
                    to: .directory)
                try await Session.appendAudit(policyEntry, tx: tx, signer: identity)
            }
            guard let link = try await tx.lastLink(.audit) else {
                throw TutelaError.internal("the vault was created without an audit entry")
            }
            return link
        }
        try pins?.save(
            HeadPin(entries: head.sequence + 1, head: Hex.encode(head.hash)), vaultID: vaultID,
            replacing: true)
        return pub
    }

    /// The vault's metadata and its verified directory.
    public func verifiedDirectory() async throws -> (VaultMeta, Directory) {
        let meta = try await store.meta()
        let directory = try Directory.verify(
            try await store.links(.directory), pinnedAuthorityKey: meta.authoritySigningKey)
        guard directory.vaultID == meta.vaultID, directory.authorityID == meta.authorityID,
            directory.kdfProfile.rawValue == meta.kdfProfile
        else {
            throw TutelaError.tampered("the vault's metadata does not match its directory")
        }
        return (meta, directory)
    }

    /// Unlocks `principalID`'s keys: one Argon2id derivation, once per command.
    /// - Throws: `.notFound` for someone not enrolled, `.permissionDenied` for a wrong passphrase,
    ///   `.tampered` if their stored keys do not match their enrolment.
    public func unlock(
        _ principalID: PrincipalID, passphrase: Passphrase, acceptingRestore: Bool = false
    ) async throws -> Session {
        try await unlock(
            principalID, passphrase: passphrase, acceptingRestore: acceptingRestore, evenly: false)
    }

    /// ``unlock(_:passphrase:acceptingRestore:)``; `evenly` spends one Argon2id derivation at the
    /// vault's cost before refusing someone who cannot sign in for any reason, as a wrong
    /// passphrase does, so that how long a refusal takes does not tell who is enrolled.
    func unlock(
        _ principalID: PrincipalID, passphrase: Passphrase, acceptingRestore: Bool, evenly: Bool
    ) async throws -> Session {
        var (meta, directory) = try await verifiedDirectory()
        if !acceptingRestore { try await checkPin(meta, directory: directory) }
        // The directory must be the one the log's newest entry committed to: none of its newest
        // statements deleted. A statement appended meanwhile is read on the next try.
        for attempt in 0..<3 {
            if try await directoryMatchesState(directory) { break }
            guard attempt < 2 else { throw Self.directoryMismatch }
            (meta, directory) = try await verifiedDirectory()
        }
        let principalID = directory.resolve(principalID)
        func refuse(_ error: TutelaError) -> TutelaError {
            if evenly { Passphrase.spendDerivation(passphrase, cost: directory.kdfProfile.cost) }
            return error
        }
        guard let principal = directory.principals[principalID] else {
            if directory.invitations[principalID] != nil {
                throw refuse(
                    .denied(
                        "'\(principalID)' has not activated their enrolment yet",
                        hint: "activate it with the enrolment code: tutela principal activate "
                            + principalID.text))
            }
            throw refuse(
                .notFound(
                    "no one is enrolled as '\(principalID)'",
                    hint: "an administrator enrols people with 'tutela principal add'"))
        }
        guard !principal.revoked else {
            throw refuse(
                .denied(
                    "'\(principalID)' was revoked and can no longer act",
                    hint: "an administrator enrols a returning person again under a new id"))
        }
        guard !principal.awaitingKeys else {
            throw refuse(
                .denied(
                    "the keys of '\(principalID)' were reissued: the old passphrase no longer works",
                    hint:
                        "activate the new keys with the enrolment code: tutela principal activate "
                        + principalID.text))
        }
        guard let sealed = try await store.sealedIdentity(principalID) else {
            throw TutelaError.tampered("the keys of '\(principalID)' are missing from the vault")
        }
        guard sealed.signingKey == principal.identity.signingKey.bytes,
            sealed.agreementKey == principal.identity.agreementKey.bytes
        else {
            throw TutelaError.tampered(
                "the stored keys of '\(principalID)' are not the enrolled ones")
        }
        let identity = try sealed.unlock(with: passphrase)
        return Session(
            vault: self, meta: meta, directory: directory, principal: principal, identity: identity,
            unlockedRow: sealed.nonce)
    }

    /// Refuses a vault whose audit log does not extend the head this machine saw last.
    ///
    /// Nothing stored is taken on its word: the pinned entry's hash is recomputed from its
    /// contents and its signature checked against its signer's enrolled keys, and so is the entry
    /// before it, which it must follow — one row copied in from a newer vault does not pass.
    func checkPin(_ meta: VaultMeta, directory: Directory) async throws {
        guard let pins, let pin = try pins.load(vaultID: meta.vaultID) else { return }
        func genuine(_ link: ChainLink) -> Bool {
            AuditEntry.genuine(link, directory: directory) != nil
        }
        let previous =
            pin.entries >= 2 ? try await store.link(.audit, at: pin.entries - 2) : nil
        guard pin.entries >= 1, let link = try await store.link(.audit, at: pin.entries - 1),
            Hex.encode(link.hash) == pin.head, genuine(link),
            pin.entries == 1
                || (previous.map { genuine($0) && $0.hash == link.previousHash } ?? false)
        else {
            throw TutelaError(
                .tampered,
                "this vault's audit log does not contain the \(pin.entries) entries this machine saw "
                    + "last: it was restored from an older copy, or its log was cut or edited",
                hint: AuditLog.restoreHint)
        }
    }

    /// Whether `directory` ends where the state of the log's newest entry says it does.
    func directoryMatchesState(_ directory: Directory) async throws -> Bool {
        let committed: StateHead
        do {
            committed = try await StateReader(store: store, directory: directory).committed().state
        } catch is StateReader.UnknownSigner { return false }
        return Self.directory(directory.head, matches: committed)
    }

    static func directory(_ head: ChainLink?, matches state: StateHead) -> Bool {
        state.directoryCount == (head?.sequence ?? -1) + 1
            && state.directoryHash == (head?.hash ?? StateMap.zero)
    }

    static let directoryMismatch = TutelaError(
        .tampered,
        "the vault's directory does not end where its audit log says: its newest statements (a "
            + "revocation, a policy, a learner's contacts) were deleted, or added outside Tutela",
        hint: AuditLog.restoreHint)

    /// Verifies the whole audit log (no passphrase needed: it uses only public keys).
    /// - Parameter checkpoint: a checkpoint whose prefix the log must still hold.
    /// - Throws: a data error (65) naming the first bad entry.
    public func verifyAudit(checkpoint: Checkpoint?) async throws -> AuditReport {
        let (meta, directory) = try await verifiedDirectory()
        let pin = try pins?.load(vaultID: meta.vaultID)
        // The state is checked against what the walk rebuilt, at the head the walk reached: an
        // entry appended meanwhile (someone opening a record) walks the log again.
        for _ in 0..<3 {
            var reseals = ResealCheck()
            var subjects = SubjectReplay()
            let report = try await AuditLog.verify(
                store: store, directory: directory, checkpoint: checkpoint, pin: pin
            ) {
                reseals.visit($0.entry, at: $0.sequence)
                try subjects.visit($0.entry, at: $0.sequence)
            }
            do {
                try await verifyState(
                    directory: directory, reseals: reseals, subjects: subjects, walked: report.head)
            } catch is LogMoved { continue }
            // Verified in full: later readings of the log on this machine may spare this prefix.
            if let head = report.head {
                pins?.saveVerified(
                    VerifiedLog(entries: report.entries, head: head, directory: directory),
                    vaultID: meta.vaultID)
            }
            return report
        }
        throw TutelaError.tryAgain("the vault kept changing while it was checked; try again")
    }

    static func validateName(_ name: String) throws(TutelaError) {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, name.count <= DirectoryStatement.maxText,
            !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else {
            throw .usage(
                "a name must be 1–\(DirectoryStatement.maxText) characters of ordinary text")
        }
    }
}

/// A record opened for someone allowed to read it.
public struct OpenedRecord: Sendable {
    /// The record's label, from its envelope.
    public let label: Label
    /// The record's decrypted contents.
    public let content: RecordContent
    /// Who re-sealed the record under fresh keys, when it was re-encrypted (its label's author
    /// wrote it; this person signed the envelope it was opened from).
    public let resealedBy: PrincipalID?
    /// Marked void (sealed by mistake): by whom, when and why; nil for a record in force.
    public internal(set) var void: VoidStatement?
    /// The addenda to it that the reader may see, oldest first (each opened on its own).
    public internal(set) var addenda: [Label] = []

    /// The contents of `envelope`, opened.
    init(_ envelope: Envelope, content: RecordContent) {
        label = envelope.label
        self.content = content
        resealedBy = envelope.sealer
    }

    /// The progress-review form, for a tutorial.
    public var form: ProgressReview? {
        if case .progressReview(let form) = content { return form }
        return nil
    }
}
