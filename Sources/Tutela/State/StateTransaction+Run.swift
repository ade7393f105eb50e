extension StateTransaction {
    /// Runs `body` as one store transaction whose state map is kept true.
    /// - Parameters:
    ///   - directory: the verified directory, whose keys the log's last entry must verify under.
    ///   - cache: the session's proven state, and the newest entry it saw.
    static func run<T: Sendable>(
        _ store: any VaultStore, directory: Directory?, cache: StateCache?,
        _ body: @escaping @Sendable (any VaultTransaction) async throws -> T
    ) async throws -> T {
        try await store.transaction { tx in
            try await within(tx, directory: directory, cache: cache, body)
        }
    }

    /// The state-keeping transaction `tx` is; an internal error for any other.
    static func of(_ tx: any VaultTransaction) throws(TutelaError) -> StateTransaction {
        guard let state = tx as? StateTransaction else {
            throw .internal("a vault transaction ran outside the state map")
        }
        return state
    }
}
