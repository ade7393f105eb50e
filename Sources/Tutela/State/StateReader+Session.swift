extension Session {
    /// For tests: a store transaction that makes `write` as a command of this person's would —
    /// checked against the vault's state, with an audit entry of theirs committing to it — to run
    /// between another command's reads and its writes, or to play an insider who writes rows and
    /// signs what their own key can sign.
    package func committedWrite(
        as action: AuditEntry.Action = .seal, subject: String? = nil,
        _ write: @escaping @Sendable (any VaultTransaction) async throws -> Void
    ) -> @Sendable (any VaultTransaction) async throws -> Void {
        let identity = self.identity
        let entry = auditEntry(action, subject: subject, reason: "a write made in a test")
        return { tx in
            // The directory as this session knows it when the write runs, not when it was planned.
            let directory = self.directory
            try await StateTransaction.within(tx, directory: directory, cache: nil) { state in
                try await write(state)
                try await Session.appendAudit(entry, tx: state, signer: identity)
            }
        }
    }

    /// The log's newest entry and its state, catching up with the directory first if a person
    /// this session does not know yet signed it.
    func committedState() async throws -> (hash: [UInt8]?, state: StateHead) {
        do {
            return try await StateReader(store: store, directory: directory, cache: stateCache)
                .committed()
        } catch is StateReader.UnknownSigner {
            try await refresh()
            return try await StateReader(store: store, directory: directory, cache: stateCache)
                .committed()
        }
    }

    /// Runs `read` and checks what it found against the state the log's newest entry committed to.
    /// A read that raced a write runs again; a mismatch while the log stood still is tampering.
    /// - Throws: `.tampered` (65) naming what does not match.
    func verifiedRead<T>(_ read: () async throws -> (T, StateClaims)) async throws -> T {
        for _ in 0..<4 {
            let reader = StateReader(store: store, directory: directory, cache: stateCache)
            let before: (hash: [UInt8]?, state: StateHead)
            do { before = try await reader.committed() } catch is StateReader.UnknownSigner {
                try await refresh()
                continue
            }
            // What was committed may rest on directory statements this session has not seen (a
            // flag or re-seal judged by them): catch up first.
            if before.state.directoryCount > directory.statementCount {
                try await refresh()
                continue
            }
            let (value, claims) = try await read()
            guard let bad = try await reader.firstMismatch(claims, in: before.state) else {
                return value
            }
            let after = try? await reader.committed()
            if after?.hash == before.hash { throw StateTransaction.mismatch(bad) }
        }
        throw TutelaError.tryAgain("the vault kept changing while this was read; try again")
    }
}
