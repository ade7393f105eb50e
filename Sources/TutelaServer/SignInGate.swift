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
        switch try session.proveSecondFactor(code, at: vault.clock.now(), after: lastSteps[id]) {
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

    /// Runs `work` — one that derives a key from a passphrase (enrolling a second factor, say) —
    /// once a place is free, off the task pool.
    public func deriving<T: Sendable>(_ work: @Sendable () async throws -> T) async throws -> T {
        try await enter()
        defer { leave() }
        return try await withTaskExecutorPreference(executor) { try await work() }
    }

    /// Activates `principal`'s enrolment (making and sealing their keys: one Argon2id
    /// derivation) once a place is free.
    public func activate(
        _ principal: PrincipalID, code: SecretBytes, passphrase: Passphrase, in vault: Vault
    ) async throws -> PublicIdentity {
        try await enter()
        defer { leave() }
        return try await withTaskExecutorPreference(executor) {
            try await vault.activate(principal, code: code, passphrase: passphrase)
        }
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
