import Dispatch
public import Tutela
public import TutelaCrypto

/// Runs sign-ins — each one Argon2id derivation of the vault's cost — a bounded number at a time,
/// on threads of their own, with a bounded queue.
///
/// Argon2id at the moderate profile holds 256 MiB for about a second of one core: unbounded, a
/// burst of sign-ins would take the machine's memory; on the task pool (one thread per core) it
/// would stall every other request. Those beyond the queue are refused at once (503 `busy`).
public actor SignInGate {
    private let parallel: Int
    private let queueLimit: Int
    private var running = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []
    private let executor = DispatchTaskExecutor()
    /// The newest time step a code of each person's was accepted at: a code is never accepted
    /// twice (RFC 6238 §5.2), not even by a sign-in racing this one.
    private var lastSteps: [PrincipalID: UInt64] = [:]
    /// Recovery codes being used up: two sign-ins racing with one code, one wins.
    private var spending: Set<[UInt8]> = []
    /// Missing or wrong codes after the right passphrase, per person since their last success,
    /// and until when their sign-ins are refused whatever code comes: someone who knows the
    /// passphrase gets a few tries, then waits twice as long after each (1 minute after the
    /// fourth, up to a day), so six digits are not worked through at the throttle's pace.
    private var codeFailures: [PrincipalID: (count: Int, until: Int64)] = [:]

    /// How many sign-ins wait for a place.
    var waitingCount: Int { waiting.count }

    /// - Parameters:
    ///   - parallel: how many run at once.
    ///   - queue: how many may wait.
    public init(parallel: Int, queue: Int) {
        self.parallel = max(1, parallel)
        self.queueLimit = max(0, queue)
    }

    /// Signs `principal` in with `passphrase` and, if they have enrolled one, their second factor
    /// `code` (or a recovery code, used up here), once a place is free.
    /// - Throws: `.tryAgain` when the queue is full; ``Vault/signInRefused`` for a missing, wrong
    ///   or replayed code, as for a wrong passphrase; whatever ``Vault/signIn(_:passphrase:)``
    ///   throws.
    public func signIn(
        _ principal: PrincipalID, passphrase: Passphrase, code: String?, in vault: Vault
    ) async throws -> Session {
        try await enter()
        defer { leave() }
        let session = try await withTaskExecutorPreference(executor) {
            try await vault.signIn(principal, passphrase: passphrase)
        }
        let id = session.principal.id
        let now = vault.clock.now()
        let proof: SecondFactorProof
        do {
            try requireCodesOpen(session)
            proof = try session.proveSecondFactor(code, at: now, after: lastSteps[id])
        } catch {
            codeFailed(session)
            throw error
        }
        if case .notEnrolled = proof {} else { codeFailures[id] = nil }
        switch proof {
        case .notEnrolled: break
        case .code(let step): lastSteps[id] = step
        case .recoveryCode(let hash):
            guard spending.insert(hash).inserted else { throw Vault.signInRefused }
            defer { spending.remove(hash) }
            try await withTaskExecutorPreference(executor) {
                _ = try await session.useRecoveryCode(hash, passphrase: passphrase)
            }
        }
        return session
    }

    /// Marks the code of `step` used for `principal` (the one that confirmed an enrolment).
    public func used(_ step: UInt64, by principal: PrincipalID) {
        lastSteps[principal] = max(lastSteps[principal] ?? 0, step)
    }

    /// The newest step a code of `principal`'s was accepted at.
    public func lastStep(of principal: PrincipalID) -> UInt64? { lastSteps[principal] }

    /// Refuses (as a wrong code is) while `session`'s person has an app enrolled and their codes
    /// are locked out.
    public func requireCodesOpen(_ session: Session) throws {
        guard session.secondFactorStanding == .enrolled else { return }
        let now = session.vault.clock.now()
        if let failed = codeFailures[session.principal.id], failed.until > now {
            throw Vault.signInRefused
        }
    }

    /// Counts a missing or wrong code after the right passphrase: from the fourth, the person's
    /// codes are locked out for a minute, doubling each time up to a day. The audit entry is
    /// written on its own task, never awaited here: how long a refusal takes must not tell that
    /// the passphrase was right.
    public func codeFailed(_ session: Session) {
        guard session.secondFactorStanding == .enrolled else { return }
        let id = session.principal.id
        let now = session.vault.clock.now()
        let count = (codeFailures[id]?.count ?? 0) + 1
        let wait: Int64 = count <= 3 ? 0 : min(86_400, 60 << Int64(min(count - 4, 11)))
        codeFailures[id] = (count, max(now + wait, codeFailures[id]?.until ?? 0))
        Task.detached { await session.auditRefusedSecondFactor() }
    }

    /// Forgets `principal`'s code failures (however the id is capitalised): their keys were
    /// reissued or recovered, or their passphrase changed (the one guessing codes no longer has
    /// it).
    public func clearCodeFailures(of principal: PrincipalID) {
        let id = principal.text.lowercased()
        codeFailures = codeFailures.filter { $0.key.text.lowercased() != id }
    }

    /// Claims a code of `session`'s person's enrolled app given to change it (replace or remove),
    /// before the change is made: the same code is never accepted twice, not even by a sign-in
    /// racing the change. A wrong one counts toward the code lock.
    /// - Returns: the step the library must see codes after (nil when this claimed one).
    /// - Throws: ``Vault/signInRefused`` for a wrong code, or while codes are locked out.
    public func claimCurrentCode(_ code: String?, of session: Session) throws -> UInt64? {
        let id = session.principal.id
        guard let code, !code.isEmpty else { return lastSteps[id] }
        do {
            try requireCodesOpen(session)
            switch try session.proveSecondFactor(
                code, at: session.vault.clock.now(), after: lastSteps[id])
            {
            case .code(let step):
                lastSteps[id] = step
                return nil
            case .recoveryCode, .notEnrolled: return lastSteps[id]
            }
        } catch {
            codeFailed(session)
            throw error
        }
    }

    /// Runs `work` — one that derives a key from a passphrase (enrolling a second factor, say) —
    /// once a place is free, off the task pool.
    public func deriving<T: Sendable>(_ work: @Sendable () async throws -> T) async throws -> T {
        try await enter()
        defer { leave() }
        return try await withTaskExecutorPreference(executor) { try await work() }
    }

    func enter() async throws {
        if running < parallel {
            running += 1
            return
        }
        guard waiting.count < queueLimit else {
            throw TutelaError(
                .tryAgain, "too many people are signing in at this moment",
                hint: "try again in a few seconds")
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func leave() {
        if waiting.isEmpty {
            running -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}

/// A task executor on Dispatch's threads, off the task pool, for work that holds a thread for a
/// long time (an Argon2id derivation).
final class DispatchTaskExecutor: TaskExecutor {
    private let queue = DispatchQueue(label: "tutela.sign-in", attributes: .concurrent)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}
