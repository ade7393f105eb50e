import Foundation
import Synchronization

/// Blocking work (a synced write) started at once on a thread of its own and awaited later.
///
/// A child task (`async let`) runs on the task pool, which has one thread per core: while this task
/// decrypts on one, the child may not start until the other is free, and a synced write then waits
/// for the decryption instead of overlapping it. A dispatch thread starts now.
final class Started<T: Sendable>: Sendable {
    private struct State {
        var result: Result<T, any Error>?
        var waiter: CheckedContinuation<T, any Error>?
    }
    private let state = Mutex(State())

    init(_ work: @escaping @Sendable () throws -> T) {
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            finish(Result { try work() })
        }
    }

    private func finish(_ result: Result<T, any Error>) {
        let waiter = state.withLock { state -> CheckedContinuation<T, any Error>? in
            guard let waiter = state.waiter else {
                state.result = result
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(with: result)
    }

    /// The work's result, once it has finished.
    var value: T {
        get async throws {
            try await withCheckedThrowingContinuation { continuation in
                let done = state.withLock { state -> Result<T, any Error>? in
                    if let result = state.result { return result }
                    state.waiter = continuation
                    return nil
                }
                if let done { continuation.resume(with: done) }
            }
        }
    }
}
