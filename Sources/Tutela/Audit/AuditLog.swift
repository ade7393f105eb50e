/// What `audit verify` found.
public struct AuditReport: Sendable, Equatable {
    /// Entries in the log, all verified.
    public let entries: Int64
    /// Time of the first and last entries (seconds since 1970 UTC).
    public let firstTime: Int64?
    /// Time of the last entry, in seconds since 1970 UTC.
    public let lastTime: Int64?
    /// Hash of the last entry.
    public let head: [UInt8]?
    /// The checkpoint checked against, if one was given (it matched, or verification would have thrown).
    public let checkpoint: Checkpoint?
    /// The entry count this machine had last seen, if it had seen this vault.
    public let pinnedEntries: Int64?
    /// Leading entries whose signatures were spared, this machine having verified them before
    /// (their hashes and links were recomputed and checked); 0 for a verification in full.
    public var spared: Int64 = 0
}

/// One audit entry with its position, for reading.
public struct AuditRecord: Sendable, Equatable {
    /// The entry's position in the log, counting from 0.
    public let sequence: Int64
    /// The verified entry.
    public let entry: AuditEntry

    /// Pairs an entry with its position in the log.
    public init(sequence: Int64, entry: AuditEntry) {
        self.sequence = sequence
        self.entry = entry
    }
}

enum AuditLog {
    static let pageSize = 4096

    /// Replays the whole audit log: order, links, hashes, every signature against the signer's
    /// enrolled key, and that each entry's actor is its signer. With a checkpoint, also proves the log
    /// still holds the checkpoint's prefix; with a pin, that it extends what this machine saw last.
    /// - Parameters:
    ///   - pageSize: entries read at a time (smaller in tests, to cross pages with a short log).
    ///   - visit: called with each verified entry, in order.
    /// - Throws: a data error naming the first bad entry.
    static func verify(
        store: any VaultStore, directory: Directory, checkpoint: Checkpoint?, pin: HeadPin?,
        sparing prefix: (entries: Int64, head: [UInt8])? = nil, pageSize: Int = pageSize,
        visit: (AuditRecord) throws -> Void = { _ in }
    ) async throws -> AuditReport {
        let spared = prefix?.entries ?? 0
        if let checkpoint { try checkpoint.verify(directory: directory) }
        var previous: ChainLink?
        var count: Int64 = 0
        var firstTime: Int64?
        var lastTime: Int64?
        var previousEntry: AuditEntry?
        // Who was revoked, from the log's own revocation entries (each written in the
        // transaction that signed the revocation): nothing of theirs may follow.
        var revokedAt: [String: Int64] = [:]
        let principals = directory.principals
        // The next page is read while this one is checked.
        @Sendable func read(_ from: Int64) -> Task<[ChainLink], any Error> {
            Task { try await store.links(.audit, from: from, limit: pageSize) }
        }
        var pending = read(0)
        defer { pending.cancel() }
        while true {
            let page = try await pending.value
            if page.count == pageSize { pending = read(count + Int64(page.count)) }
            // Signatures and hashes in parallel; order, links and contents in sequence, so the first
            // bad entry is the one reported.
            // A page wholly inside the prefix this machine verified before spares its
            // signatures: its hashes are recomputed, and its links checked below, back to a head
            // whose hash the caller found unchanged (``VerifiedLog/sparing(store:directory:)``).
            let contents =
                if let last = page.last, last.sequence < spared {
                    await SignedChain.inParallel(page) {
                        (signature: true, hash: SignedChain.checkHash($0, in: .audit))
                    }
                } else {
                    await SignedChain.checkContents(page, in: .audit) {
                        principals[$0]?.everySigningKey ?? []
                    }
                }
            for (link, content) in zip(page, contents) {
                try SignedChain.verify(
                    link, in: .audit, after: previous, hasSigner: principals[link.signer] != nil,
                    content: content)
                let entry = try AuditEntry.parse(link.body, context: "audit entry \(link.sequence)")
                guard entry.actor == link.signer else {
                    throw TutelaError.tampered(
                        "audit entry \(link.sequence) names an actor who did not sign it")
                }
                let position = entry.state.directoryCount
                guard
                    link.sequence < spared
                        || principals[link.signer]?.signed(
                            madeUnder: position,
                            verify: {
                                SignedChain.checkContent(link, in: .audit, signerKeys: $0).signature
                            }
                        ) == true
                else {
                    let revoked = principals[link.signer]?.revoked == true
                    throw TutelaError.tampered(
                        "audit entry \(link.sequence) is signed with a key that was not "
                            + "'\(link.signer)''s at directory position \(position): "
                            + (revoked ? "'\(link.signer)' was revoked" : "it was retired"))
                }
                try checkTime(entry, at: link.sequence, after: previousEntry, directory: directory)
                try checkStatementTimes(
                    entry, at: link.sequence,
                    from: previousEntry?.state.directoryCount ?? 0, directory: directory)
                if let previousEntry,
                    entry.state.directoryCount < previousEntry.state.directoryCount
                        || entry.state.labelCount < previousEntry.state.labelCount
                {
                    throw TutelaError.tampered(
                        "audit entry \(link.sequence) records fewer directory statements or labels "
                            + "than the entry before it")
                }
                if let at = revokedAt[entry.actor.text] {
                    throw TutelaError.tampered(
                        "audit entry \(link.sequence) is by '\(entry.actor)', who was revoked at "
                            + "entry \(at)")
                }
                if entry.action == .revoke, entry.outcome == .allowed, let subject = entry.subject {
                    revokedAt[subject] = link.sequence
                }
                previousEntry = entry
                if let checkpoint, link.sequence == checkpoint.entries - 1 {
                    try checkpoint.verifySigner(then: directory.asOf(entry.state.directoryCount))
                    guard link.hash == checkpoint.head else {
                        throw TutelaError.tampered(
                            "audit entry \(link.sequence) is not the one the checkpoint signed by "
                                + "\(checkpoint.signer) at \(Timestamp.iso(checkpoint.time)) "
                                + "recorded")
                    }
                }
                if let prefix, link.sequence == prefix.entries - 1, link.hash != prefix.head {
                    throw TutelaError(
                        .tampered,
                        "audit entry \(link.sequence) is not the one this machine verified",
                        hint: restoreHint)
                }
                if let pin, link.sequence == pin.entries - 1, Hex.encode(link.hash) != pin.head {
                    throw TutelaError.tampered(
                        "audit entry \(link.sequence) is not the one this machine saw last")
                }
                try visit(AuditRecord(sequence: link.sequence, entry: entry))
                firstTime = firstTime ?? entry.time
                lastTime = entry.time
                previous = link
                count += 1
            }
            if page.count < pageSize { break }
        }
        guard count > 0 else { throw TutelaError.tampered("the audit log is empty") }
        // A log cut back below what this machine verified was not walked to the memo's head: the
        // signatures it spared were never tied to it.
        if let prefix, count < prefix.entries {
            throw TutelaError(
                .tampered,
                "the audit log has \(count) entries, fewer than the \(prefix.entries) this machine "
                    + "verified",
                hint: restoreHint)
        }
        if let checkpoint, count < checkpoint.entries {
            throw TutelaError.tampered(
                "the audit log has \(count) entries, fewer than the \(checkpoint.entries) recorded by the "
                    + "checkpoint of \(Timestamp.iso(checkpoint.time)): entries from \(count) on were deleted, "
                    + "or the vault was restored from an older copy")
        }
        if let pin, count < pin.entries {
            throw TutelaError(
                .tampered,
                "the audit log has \(count) entries but this machine last saw \(pin.entries): the vault "
                    + "was restored from an older copy or its log was cut",
                hint: restoreHint)
        }
        return AuditReport(
            entries: count, firstTime: firstTime, lastTime: lastTime, head: previous?.hash,
            checkpoint: checkpoint, pinnedEntries: pin?.entries, spared: spared)
    }

    /// Time on the log never runs backwards: an entry earlier than the one before it is refused,
    /// unless it is a clock correction by the authority or an administrator — judged by the
    /// directory the entry committed to (revoked since or not: it was theirs to make then; made an
    /// administrator later, it was not).
    static func checkTime(
        _ entry: AuditEntry, at sequence: Int64, after previous: AuditEntry?, directory: Directory
    ) throws(TutelaError) {
        if entry.action == .clockCorrect {
            let then = try directory.asOf(entry.state.directoryCount)
            guard let p = then.principals[entry.actor], !p.revoked, p.isAuthority || p.has(.admin)
            else {
                throw .tampered(
                    "audit entry \(sequence) corrects the clock, but '\(entry.actor)' is not an "
                        + "administrator")
            }
            return
        }
        guard let previous, entry.time < previous.time else { return }
        throw .tampered(
            "audit entry \(sequence) goes back in time, from \(Timestamp.iso(previous.time)) to "
                + "\(Timestamp.iso(entry.time)), with no clock correction before it")
    }

    /// Holds the directory statements `entry` committed (those after `from`) to its time: each
    /// dated no later than the entry and no earlier than the entry less ``writeWait``. A
    /// statement's own time is its signer's word — this is what makes it answer to the log's
    /// clock (an activation dated back into its code's life, days after, is refused).
    static func checkStatementTimes(
        _ entry: AuditEntry, at sequence: Int64, from: Int64, directory: Directory
    ) throws(TutelaError) {
        let to = min(entry.state.directoryCount, directory.statementCount)
        guard to > from else { return }
        for position in from..<to {
            let link = directory.statements[Int(position)]
            let (_, time) = try DirectoryStatement.decode(
                link.body, context: "directory entry \(position)")
            guard time <= entry.time, time >= entry.time - writeWait else {
                throw .tampered(
                    "directory entry \(position) is dated \(Timestamp.iso(time)), but audit entry "
                        + "\(sequence), which committed it, at \(Timestamp.iso(entry.time))")
            }
        }
    }

    /// How far behind the log's last entry a new entry may be stamped and still be appended (at
    /// the last entry's time): the longest a command waits for another's write, in seconds.
    static let writeWait: Int64 = 300

    /// A write refused because this machine's clock is behind the vault's last entry.
    static func clockBehind(now: Int64, last: Int64) -> TutelaError {
        TutelaError(
            .tryAgain,
            "this machine's clock (\(Timestamp.iso(now))) is behind the vault's last audit entry "
                + "(\(Timestamp.iso(last))): nothing was done, because time on the log never runs "
                + "backwards",
            hint: "set this machine's clock right; if the vault's last entry was written with a "
                + "clock set wrongly forward, an administrator runs 'tutela audit correct-clock --as ID'"
        )
    }

    static let restoreHint =
        "if the restore was deliberate, an administrator accepts it with "
        + "'tutela audit accept-restore --as ID'; otherwise keep the vault as evidence"
}
