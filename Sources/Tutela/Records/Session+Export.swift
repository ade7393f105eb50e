import TutelaCrypto

extension Session {
    /// What this learner or parent may receive: every record of `learner` policy lets them open,
    /// each audited; safeguarding material is left out where the policy says so.
    /// - Returns: the opened records and how many were withheld.
    public func export(learner: LearnerID) async throws -> (records: [OpenedRecord], withheld: Int)
    {
        try await decidingAfresh { try await exportOnce(learner: learner) }
    }

    private func exportOnce(learner: LearnerID) async throws -> (
        records: [OpenedRecord], withheld: Int
    ) {
        let policy = try policy()
        let (directory, principal) = (self.directory, self.principal)
        var opened: [OpenedRecord] = []
        var withheld = 0
        // Every label filed under the learner, and no fewer than the vault's state counts: a
        // label row moved to another learner is not quietly left out.
        let store = self.store
        let rows = try await verifiedRead {
            let rows = try await store.labels(learner: learner)
            var claims = StateClaims()
            claims.add(.learner(learner), StateMap.countValue(Int64(rows.count)))
            return (rows, claims)
        }
        for row in rows {
            // Each record goes through the release pipeline on its own, so a record flagged a
            // moment ago is decided on, and withheld, in the transaction that would record it.
            let released = try await release(row.record, action: .export) {
                input, _ -> ReleaseVerdict<Slot> in
                let label = input.envelope.label
                // The row was filed under this learner; its signed envelope must say so too.
                guard label.learner == learner else {
                    throw TutelaError.tampered(
                        "the label row of \(label.record) is filed under \(learner), but its "
                            + "signed envelope is about \(label.learner)")
                }
                let plain = policy.decide(
                    .open, actor: principal, label: label, directory: directory)
                let decision = policy.decide(
                    .open, actor: principal, label: label, state: input.state,
                    directory: directory)
                guard decision.allowed,
                    let slot = input.stored.slots.first(where: {
                        $0.recipient == .person(principal.id)
                    })
                else { return .skip(withheld: plain.allowed) }
                return .release(reason: decision.rule, grant: slot)
            } open: { envelope, slot in
                OpenedRecord(
                    envelope, content: try await decrypt(envelope, slot: slot))
            }
            switch released {
            case .released(let record): opened.append(record)
            case .skipped(let held): withheld += held ? 1 : 0
            case .missing:
                // Destroyed records keep only their label and certificate: nothing to export. A
                // label with neither contents nor a certificate was cut out of the vault.
                guard try await retention.tombstone(row.record) != nil else {
                    throw TutelaError.tampered(
                        "\(row.record) has a label but no contents and no destruction certificate")
                }
            }
        }
        return (opened, withheld)
    }
}
