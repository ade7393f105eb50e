extension Session {
    /// Signs a checkpoint of the audit log as it is now, and records that it was taken.
    public func checkpoint() async throws -> Checkpoint {
        try await decidingAfresh {
            let decision = directory.decideCheckpoint(signer: principal)
            guard decision.allowed else {
                try await audit(.checkpoint, subject: nil, outcome: .denied, reason: decision.rule)
                throw TutelaError.denied(
                    "'\(principal.id)' may not sign checkpoints: \(decision.rule)")
            }
            // The checkpoint covers the log including its own entry.
            try await audit(.checkpoint, subject: nil, outcome: .allowed, reason: decision.rule)
            let report = try await vault.verifyAudit(checkpoint: nil)
            guard let head = report.head else {
                throw TutelaError.internal("the audit log is empty")
            }
            return try Checkpoint.make(
                vaultID: meta.vaultID, entries: report.entries, head: head, time: vault.clock.now(),
                signer: identity)
        }
    }

    /// Verifies the whole audit log, for someone the policy lets read all of it, audited. (The
    /// command line's `audit verify` needs no passphrase: whoever holds the files can check them.
    /// A server asks who is asking, since the report names the log's length and newest time.)
    /// With `checkpoint`, the log must also still hold every entry it signed.
    /// - Throws: `.permissionDenied` for anyone else; `.tampered` naming the first bad entry.
    public func verifyAudit(checkpoint: Checkpoint? = nil) async throws -> AuditReport {
        // Decided on the directory its entry is recorded under, as every decision is.
        try await decidingAfresh {
            let (scope, rule) = try policy().auditScope(actor: principal)
            guard scope == .all else {
                try await audit(.auditRead, subject: nil, outcome: .denied, reason: rule)
                throw TutelaError.denied(
                    "'\(principal.id)' may not verify the whole audit log: \(rule)")
            }
            try await audit(.auditRead, subject: nil, outcome: .allowed, reason: rule)
        }
        return try await vault.verifyAudit(checkpoint: checkpoint)
    }

    /// The verified audit log, as much of it as policy lets this person read.
    /// - Parameter record: only entries about this record, read through the state's index of
    ///   them (``entries(about:)``) instead of the whole log.
    public func auditLog(record: RecordID?) async throws -> [AuditRecord] {
        let (scope, rule) = try policy().auditScope(actor: principal)
        guard scope != .none else {
            try await audit(.auditRead, subject: record?.text, outcome: .denied, reason: rule)
            throw TutelaError.denied("'\(principal.id)' may not read the audit log: \(rule)")
        }
        // The entries about their own family's records are others' to read (Policy/Family.swift),
        // whichever of those records is flagged: refused alike, or left out of the whole log.
        let family = Set(try await ownFamilysRecords().map(\.text))
        if let record {
            if family.contains(record.text) {
                let rule = "the audit of a family's own records is read by others"
                try await audit(.auditRead, subject: record.text, outcome: .denied, reason: rule)
                throw TutelaError.denied(
                    "'\(principal.id)' may not read the audit of \(record): \(rule)")
            }
            if scope == .ownRecords, try await !authored(record) {
                try await audit(.auditRead, subject: record.text, outcome: .denied, reason: rule)
                throw TutelaError.denied(
                    "'\(principal.id)' may not read the audit log of \(record): \(rule)")
            }
            try await audit(.auditRead, subject: record.text, outcome: .allowed, reason: rule)
            return try await entries(about: record)
        }
        var own: Set<String>?
        if scope == .ownRecords {
            // Authorship from the labels filed under this person, proven whole against the
            // vault's state: a row rewritten to name this person as author does not open
            // another's record's log.
            own = Set(try await filedLabels([.author(principal.id)]).map(\.record.text))
        }
        try await audit(.auditRead, subject: nil, outcome: .allowed, reason: rule)
        var result: [AuditRecord] = []
        let (pins, vaultID, directory) = (vault.pins, meta.vaultID, self.directory)
        let pin = try pins?.load(vaultID: vaultID)
        // What this machine verified in full before spares its signatures (its hashes and links
        // are still recomputed).
        let prefix = try await pins?.loadVerified(vaultID: vaultID)?.sparing(
            store: store, directory: directory)
        let report = try await AuditLog.verify(
            store: store, directory: directory, checkpoint: nil, pin: pin, sparing: prefix
        ) { item in
            guard let subject = item.entry.subject else {
                if own == nil { result.append(item) }
                return
            }
            if let own, !own.contains(subject) { return }
            if family.contains(subject) { return }
            result.append(item)
        }
        if let head = report.head, report.entries > (prefix?.entries ?? 0) {
            pins?.saveVerified(
                VerifiedLog(entries: report.entries, head: head, directory: directory),
                vaultID: vaultID)
        }
        return result
    }

    /// Whether this person wrote `record`, by the label its author signed — or, for a record
    /// destroyed, whether it is among the labels filed under them (the state's `W:` list).
    private func authored(_ record: RecordID) async throws -> Bool {
        let (store, me, directory) = (self.store, principal.id, self.directory)
        let authored: Bool? = try await verifiedRead {
            var claims = StateClaims()
            if let stored = try await store.record(record) {
                try claims.addRecord(record, stored)
                let label = try Session.verifiedEnvelope(stored, id: record, directory: directory)
                    .label
                return (label.author == me, claims)
            }
            try claims.addRecord(record, nil)
            return (nil, claims)
        }
        // Destroyed, or never there: among the labels filed under this person, or not.
        guard let authored else {
            return try await filedLabels([.author(me)]).contains { $0.record == record }
        }
        return authored
    }

    /// Sets the log's time back to this machine's clock, after entries were written with a clock
    /// set wrongly forward — otherwise nothing could be written until that date. Administrators
    /// only; signed and audited as the one entry allowed to be earlier than the one before it.
    /// - Returns: the time of the log's last entry before, and the time now.
    /// - Throws: `.permissionDenied` for anyone else; `.usage` when this clock is not behind.
    public func correctClock() async throws -> (from: Int64, to: Int64) {
        try await decidingAfresh {
            guard principal.isAuthority || principal.has(.admin) else {
                throw TutelaError.denied("only an administrator corrects the vault's clock")
            }
            let now = vault.clock.now()
            let identity = self.identity
            let (principalID, policyVersion) = (principal.id, self.policyVersion)
            let (from, head) = try await transaction { tx in
                guard let last = try await tx.lastLink(.audit) else {
                    throw TutelaError.tampered("the audit log is empty")
                }
                let previous = try AuditEntry.parse(
                    last.body, context: "audit entry \(last.sequence)")
                guard now < previous.time else {
                    throw TutelaError.usage(
                        "this machine's clock (\(Timestamp.iso(now))) is not behind the vault's last "
                            + "entry (\(Timestamp.iso(previous.time))): there is nothing to correct"
                    )
                }
                let entry = AuditEntry(
                    action: .clockCorrect, actor: principalID, subject: nil, outcome: .allowed,
                    reason: "the log's last entry was at \(Timestamp.iso(previous.time)), written "
                        + "with a clock set wrongly forward; the time is now \(Timestamp.iso(now))",
                    time: now, policyVersion: policyVersion)
                try await Session.appendAudit(entry, tx: tx, signer: identity)
                return previous.time
            }
            try movePin(to: head)
            return (from, now)
        }
    }

    /// Accepts, on purpose, a vault restored from an older copy: records the old and new heads in the
    /// audit log and moves this machine's pin to the log as it now is.
    public func acceptRestore() async throws -> AuditReport {
        try await decidingAfresh {
            let decision = decideAcceptRestore(actor: principal)
            guard decision.allowed else {
                throw TutelaError.denied(
                    "'\(principal.id)' may not accept a restore: \(decision.rule)")
            }
            // An unreadable pin is one of the things being accepted: record it as none.
            let previous = (try? vault.pins?.load(vaultID: meta.vaultID)) ?? nil
            // The log itself must still verify; only its relation to this machine's pin is forgiven.
            let before = try await AuditLog.verify(
                store: store, directory: directory, checkpoint: nil, pin: nil)
            let reason =
                "restore accepted: this machine had seen \(previous.map { "\($0.entries)" } ?? "no") entries, "
                + "the vault has \(before.entries)"
            let entry = AuditEntry(
                action: .acceptRestore, actor: principal.id, subject: meta.vaultID,
                outcome: .allowed,
                reason: reason, time: vault.clock.now(), policyVersion: policyVersion)
            let identity = self.identity
            // Through the session's transaction, so the directory is checked: an administrator
            // revoked or demoted meanwhile records nothing (the whole acceptance decides again).
            let (_, head) = try await transaction { tx in
                try await Session.appendAudit(entry, tx: tx, signer: identity)
            }
            if let head {
                try vault.pins?.save(
                    HeadPin(entries: head.sequence + 1, head: Hex.encode(head.hash)),
                    vaultID: meta.vaultID,
                    replacing: true)
            }
            return try await vault.verifyAudit(checkpoint: nil)
        }
    }
}

extension Session {
    /// Appends `count` synthetic audit entries, `batch` per transaction, signed by this session.
    /// For benchmarks only: it exercises the real append path without a record behind each entry.
    package func appendSyntheticAuditEntries(count: Int, batch: Int = 10_000) async throws {
        var remaining = count
        let identity = self.identity
        let actor = principal.id
        let version = policyVersion
        let now = vault.clock.now()
        while remaining > 0 {
            let n = min(batch, remaining)
            try await write { tx in
                for i in 0..<n {
                    let entry = AuditEntry(
                        action: .open, actor: actor, subject: "R-BENC-H000-\(i % 10_000)",
                        outcome: .denied,
                        reason: "benchmark entry", time: now, policyVersion: version)
                    try await Session.appendAudit(entry, tx: tx, signer: identity)
                }
            }
            remaining -= n
        }
    }
}
