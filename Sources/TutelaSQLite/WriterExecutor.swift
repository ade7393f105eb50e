import Foundation
import GRDB
import Tutela

/// Runs one transaction's asynchronous body on the thread that holds SQLite's write lock, inside
/// GRDB's write closure, so that the store protocol's async transaction costs no thread hop per
/// statement.
///
/// GRDB hands its writer connection only to synchronous closures on its writer queue. The body is
/// started as a task that prefers this executor, and the writer thread then runs that task's jobs
/// itself until the body has finished: every statement runs on the writer thread, where GRDB allows
/// it. If the body awaits something elsewhere, the writer waits for it to come back; the write lock
/// is held meanwhile, as any transaction holds it.
final class WriterExecutor: TaskExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var finished = false

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Runs enqueued jobs on the calling thread until ``finish()``.
    func drain() {
        while true {
            condition.lock()
            while jobs.isEmpty && !finished { condition.wait() }
            if jobs.isEmpty {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }

    /// Ends ``drain()`` once the jobs already enqueued have run.
    func finish() {
        condition.lock()
        finished = true
        condition.signal()
        condition.unlock()
    }
}

/// The writer connection, passed into the task that runs on the writer thread (and only there).
struct WriterConnection: @unchecked Sendable {
    let db: Database
}

extension SQLiteVaultStore {
    /// Runs `body` in one transaction on the writer connection: committed when it returns, rolled
    /// back when it throws.
    static func write<T: Sendable>(
        _ pool: DatabasePool,
        _ body: @escaping @Sendable (Database) async throws -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            pool.asyncWriteWithoutTransaction { db in
                let executor = WriterExecutor()
                let connection = WriterConnection(db: db)
                let outcome = OutcomeBox<T>()
                Task(executorPreference: executor) {
                    defer { executor.finish() }
                    do {
                        try connection.db.beginTransaction(.immediate)
                    } catch {
                        outcome.result = .failure(error)
                        return
                    }
                    do {
                        let value = try await body(connection.db)
                        try connection.db.commit()
                        outcome.result = .success(value)
                    } catch {
                        if connection.db.isInsideTransaction { try? connection.db.rollback() }
                        outcome.result = .failure(error)
                    }
                }
                executor.drain()
                continuation.resume(
                    with: outcome.result
                        ?? .failure(TutelaError(.internal, "a vault transaction did not finish")))
            }
        }
    }
}

/// The result of a transaction's task, read by the writer thread once the task has finished.
private final class OutcomeBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
