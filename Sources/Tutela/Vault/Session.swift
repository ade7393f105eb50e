import Foundation
import Synchronization
import TutelaCrypto

/// One person, unlocked: their principal, their identity (keys in secret memory, unlocked by one
/// Argon2id derivation) and the directory as verified when they unlocked — extended by their own
/// statements, and by everyone's when ``refresh()`` is called.
///
/// Made once per command on the command line; a server keeps one per signed-in person for the
/// length of their session and calls ``refresh()`` before each request, which verifies only the
/// directory statements added since.
public final class Session: Sendable {
    /// The vault this session acts in.
    public let vault: Vault
    /// What the vault recorded about itself at `init`.
    public let meta: VaultMeta
    let identity: Identity
    /// The second factor sealed with this person's keys now: the one they unlocked with, until
    /// this session enrols, removes or uses part of one.
    let heldSecondFactor: Mutex<SecondFactor?>
    /// The nonce of the sealed identity row this session unlocked (or last re-sealed): a change
    /// that re-seals the person's keys from what this session holds (a passphrase change) is
    /// refused if the row changed since — a second factor enrolled elsewhere is never dropped.
    /// Nil for a session that made its keys itself.
    let unlockedRow: Mutex<[UInt8]?>
    private let verified: Mutex<(directory: Directory, principal: Principal)>
    /// This machine's pins of releases already handed out, still being saved (see ``settle()``).
    let pendingPins = OwnPins()
    /// What this session has proven of the vault's state under its newest root.
    let stateCache = StateCache()

    /// The verified directory.
    public var directory: Directory { verified.withLock { $0.directory } }

    /// Who this session acts as, as the verified directory says now (roles included).
    public var principal: Principal { verified.withLock { $0.principal } }

    /// True only for the session of a person activating their enrolment or reissue, whose key the
    /// directory does not hold until the statement it appends.
    let activating: Bool

    init(
        vault: Vault, meta: VaultMeta, directory: Directory, principal: Principal,
        identity: Identity, activating: Bool = false, unlockedRow: [UInt8]? = nil
    ) {
        self.vault = vault
        self.meta = meta
        self.identity = identity
        self.heldSecondFactor = Mutex(identity.secondFactor)
        self.unlockedRow = Mutex(unlockedRow)
        self.activating = activating
        self.verified = Mutex((directory, principal))
    }

    /// Waits until this machine's pin of the audit log's head has been saved for every release
    /// this session made. A release is handed out as soon as its audit entry is durable; its pin is
    /// saved meanwhile, and a command or request is complete only once this returns.
    /// - Throws: `.tryAgain` when a pin could not be saved: the entries are in the audit log, but
    ///   this machine would not notice if they were rolled back.
    public func settle() async throws {
        try await Self.settle(Self.ownPins ?? pendingPins)
    }

    static func settle(_ list: OwnPins) async throws {
        let waiting = list.pins.withLock { pending in
            defer { pending = [] }
            return pending
        }
        var failure: (any Error)?
        for pin in waiting {
            do { try await pin.value } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }

    /// The pins of the releases one piece of work made, when it runs beside others of the same
    /// session (a server's concurrent requests): kept apart, so that one request's ``settle()``
    /// never takes, and so never misses, another's.
    final class OwnPins: Sendable {
        let pins = Mutex<[Started<Void>]>([])
    }

    @TaskLocal static var ownPins: OwnPins?

    /// Runs `body` with pins of its own, and before returning waits until every release it made
    /// has its pin saved: what `body` returns exists only once that is so. A server runs each
    /// request of a session this way.
    /// - Throws: what `body` throws; `.tryAgain` when a pin could not be saved.
    public static func withOwnPins<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let own = OwnPins()
        let value: T
        do {
            value = try await $ownPins.withValue(own) { try await body() }
        } catch {
            // Its pins are still awaited; the body's error (tampering, say) is what is reported.
            try? await settle(own)
            throw error
        }
        try await settle(own)
        return value
    }

    /// Where a release's pin waits for ``settle()``: the current work's own list, else the
    /// session's.
    func keepPin(_ pin: Started<Void>) {
        (Self.ownPins ?? pendingPins).pins.withLock { $0.append(pin) }
    }

    /// Brings this session's directory up to the vault's, verifying only the statements added since
    /// it was last verified: enrolments, role changes, revocations, policy versions.
    /// - Throws: `.permissionDenied` when this person was revoked meanwhile (the session is of no
    ///   further use); `.tampered` when the statements this session verified were changed or cut
    ///   from the vault, or a new one does not verify.
    public func refresh() async throws {
        let current = directory
        let id = principal.id
        if let head = current.head {
            guard try await store.link(.directory, at: head.sequence) == head else {
                throw TutelaError.tampered(
                    "the directory this session verified was changed or cut in the vault")
            }
        }
        let from = (current.head?.sequence ?? -1) + 1
        let added = try await store.links(.directory, from: from, limit: Int.max)
        guard !added.isEmpty else { return }
        let updated = try current.extended(with: added)
        // An activation in progress catches up like anyone; it is judged again when it appends.
        if activating, updated.invitations[id] != nil {
            verified.withLock { state in
                if (state.directory.head?.sequence ?? -1) < (updated.head?.sequence ?? -1) {
                    state = (updated, state.principal)
                }
            }
            return
        }
        guard let me = updated.principals[id], !me.revoked else {
            throw TutelaError.denied("'\(id)' was revoked and can no longer act")
        }
        guard !me.awaitingKeys else {
            throw TutelaError.denied(
                "the keys of '\(id)' were reissued: this session's no longer count",
                hint: "activate the new keys with the enrolment code")
        }
        try requireCurrentKey(updated)
        verified.withLock { state in
            // Another refresh or statement of this session may have moved it further meanwhile.
            if (state.directory.head?.sequence ?? -1) < (updated.head?.sequence ?? -1) {
                state = (updated, me)
            }
        }
    }

    var store: any VaultStore { vault.store }

    /// The policy in force. Before any is applied nothing can be sealed or opened.
    func policy() throws(TutelaError) -> Policy { try Self.policy(of: directory) }

    /// The policy in force in `directory`; refused when none has been applied.
    static func policy(of directory: Directory) throws(TutelaError) -> Policy {
        guard let policy = directory.policy else {
            throw .denied(
                "no access policy has been applied to this vault, so nothing can be sealed or opened",
                hint:
                    "an administrator applies one: tutela policy apply KeyPolicies/school.yaml --as ID"
            )
        }
        return policy
    }

    var policyVersion: String { directory.policy.map { "\($0.version)" } ?? "none" }

    /// The centre's time zone, from the policy in force (Europe/London without one).
    public var timeZone: String { directory.policy?.timeZone ?? Policy.defaultTimeZone }

    /// `seconds` since 1970 as the centre's local time, for people to read.
    public func localTime(_ seconds: Int64) -> String {
        Timestamp.local(seconds, zone: timeZone)
    }

    // MARK: - Directory

    func requireAdministrator(_ what: String) throws(TutelaError) {
        guard directory.administrator(principal.id) != nil else {
            throw .denied(
                "'\(principal.id)' may not \(what)",
                hint:
                    "administrative commands are done as the authority or an administrator it enrolled"
            )
        }
    }

    /// Appends a directory statement and its audit entry in one transaction, refusing if the
    /// directory moved on since this session verified it.
    /// - Parameter auditSigner: who signs the audit entry, when not this session's key (a re-key
    ///   of oneself, which retires that key from the statement on).
    func appendStatement(
        _ statement: DirectoryStatement, audit action: AuditEntry.Action, subject: String,
        reason: String? = nil, auditSigner: Identity? = nil,
        extra: @escaping @Sendable (any VaultTransaction) async throws -> Void = { _ in }
    ) async throws {
        // A statement is judged against the directory as it is now: one that moved since this
        // session verified it (someone activated, say, and is now the tutor to name) is caught up
        // with first, and the operation decides afresh.
        let known = Self.decidedUnder.map(\.head) ?? directory.head?.hash
        if try await store.lastLink(.directory)?.hash != known {
            try await refresh()
            if Self.decidedUnder != nil { throw DirectoryChanged() }
        }
        let now = vault.clock.now()
        let current = directory
        var updated = current
        try updated.apply(statement, signer: principal.id, isGenesis: false, time: now)
        let entry = AuditEntry(
            action: action, actor: principal.id, subject: subject, outcome: .allowed,
            reason: reason, time: now,
            policyVersion: updated.policy.map { "\($0.version)" } ?? "none")
        let identity = self.identity
        let committer = auditSigner ?? identity
        let link = try await write { tx in
            let last = try await tx.lastLink(.directory)
            guard last?.hash == current.head?.hash else {
                throw TutelaError.tryAgain(
                    "the directory changed while this command ran; run it again")
            }
            try await extra(tx)
            let link = try SignedChain.link(
                .directory, after: last, body: statement.encode(at: now), signer: identity)
            try await tx.append(link, to: .directory)
            try await Self.appendAudit(entry, tx: tx, signer: committer)
            return link
        }
        Self.decidedUnder?.moved(to: link.hash)
        verified.withLock { state in
            state = (
                updated.recorded(link),
                updated.principals[state.principal.id] ?? state.principal
            )
        }
    }
}
