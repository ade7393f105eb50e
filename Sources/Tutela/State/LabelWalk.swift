extension Session {
    /// Every label row, in stored order, a page at a time — the next page read while `each` works
    /// on this one — proven whole: the rows are chained as the vault's state chains them, and at
    /// the end their count and chain must be the state's. A row deleted, altered, added or moved
    /// outside Tutela is tampering (65); records sealed meanwhile ask for another try (75).
    func walkLabels(_ each: ([StoredLabel]) async throws -> Void) async throws {
        let store = self.store
        let before = try await committedState()
        var chain = StateMap.zero
        var counted: Int64 = 0
        @Sendable func page(_ from: LabelCursor?) async throws -> ([StoredLabel], LabelCursor?) {
            try await store.labels(from: from, limit: 4096)
        }
        var reading: Task<([StoredLabel], LabelCursor?), any Error>? = Task { try await page(nil) }
        defer { reading?.cancel() }
        while let current = reading {
            let (rows, cursor) = try await current.value
            reading = cursor.map { next in Task { try await page(next) } }
            chain = try StateHead.chain(chain, digests: StateHead.parallelDigests(rows))
            counted += Int64(rows.count)
            try await each(rows)
        }
        guard counted != before.state.labelCount || chain != before.state.labelChain else {
            return
        }
        // A record sealed meanwhile is in the log's newer state; anything else is a label row
        // deleted, altered, added or moved outside Tutela.
        let after = try? await committedState()
        guard let after, after.hash != before.hash else {
            throw TutelaError(
                .tampered,
                "the stored labels (\(counted) read, \(before.state.labelCount) in the vault's "
                    + "state) do not match the audit log: a label row was deleted, altered, added "
                    + "or moved outside Tutela",
                hint: AuditLog.restoreHint)
        }
        guard after.state.labelCount == counted, after.state.labelChain == chain else {
            throw TutelaError.tryAgain("records were sealed while the list was read; try again")
        }
    }
}
