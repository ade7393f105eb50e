public import TutelaCrypto

/// What a copy of a vault into another store moved, each part proved against the source.
public struct CopyReport: Sendable, Equatable {
    /// Records with contents.
    public var records = 0
    /// Records destroyed before the copy: their labels (tombstones) only.
    public var tombstones = 0
    /// Key slots and break-glass shares.
    public var slots = 0
    public var shares = 0
    /// Facts, group keys' boxes, inbox pointers, the state map's nodes and indexes.
    public var objects = 0
    /// Sealed identities.
    public var identities = 0
    /// Shred keys, in the target's own key store.
    public var shredKeys = 0
    /// The two signed chains.
    public var auditEntries: Int64 = 0
    public var directoryStatements = 0
}

extension Vault {
    /// How many labels (and their records) one page of the copy reads.
    static let copyPage = 1024

    /// Copies this vault into `target`, which must hold none, and proves the copy before it
    /// returns: the source is verified first, and each record's envelope as it is copied (a
    /// tampered vault is not copied); the shred keys go
    /// to the target's key store, then everything else in one transaction (all of it lands or
    /// none does); then the target is verified as `audit verify` would — every entry's and every
    /// statement's signature, both chains, the whole state map against the log's head — every
    /// record's envelope against its author's signature, and every row read back and compared with
    /// the source's, byte for byte, with the two logs' heads equal.
    ///
    /// The source must be quiet while it is copied (its servers stopped): a source that moved on
    /// meanwhile is reported, and the copy is not to be used.
    /// - Throws: `.exists` when the target holds a vault; `.tampered` when the source does not
    ///   verify, or the copy does not match it (the target must then be dropped, not used);
    ///   `.tryAgain` when the source changed during the copy.
    public func copy(to target: any VaultStore) async throws -> CopyReport {
        // The heads first, then the verification, which must reach exactly them: what is
        // verified is what is copied, and a write in between is reported, not copied half-seen.
        let heads = (
            audit: try await store.lastLink(.audit), directory: try await store.lastLink(.directory)
        )
        let (meta, directory) = try await verifiedDirectory()
        let verified = try await verifyAudit(checkpoint: nil)
        guard verified.head == heads.audit?.hash,
            try await store.lastLink(.directory) == heads.directory
        else { throw Self.sourceMoved }
        do {
            _ = try await target.meta()
            throw TutelaError(
                .exists, "the target holds a vault already; a copy goes into an empty store")
        } catch let error as TutelaError where error.kind == .notFound {}
        guard try await target.shredKeyIDs().isEmpty else {
            throw TutelaError(
                .exists, "the target's key store holds keys already; a copy goes into an empty one")
        }
        var report = CopyReport()
        // Only the keys of records that have contents, at their current generation: an orphan
        // (an interrupted destruction's) or a retired generation's is not carried anywhere new.
        let keyIDs = try await liveShredKeyIDs()
        report.shredKeys = keyIDs.count
        do {
            try await copyShredKeys(keyIDs, to: target)
            report = try await copyRows(
                meta: meta, directory: directory, into: target, report: report)
        } catch {
            // Nothing of the vault committed: the keys, which go first, go too.
            try? await target.deleteShredKeys(keyIDs)
            throw error
        }
        guard try await store.lastLink(.audit) == heads.audit,
            try await store.lastLink(.directory) == heads.directory
        else { throw Self.sourceMoved }
        try await prove(copy: target, keyIDs: keyIDs, report: report)
        return report
    }

    static let sourceMoved = TutelaError(
        .tryAgain, "the vault changed while it was copied; the copy is not to be used",
        hint:
            "stop every server and command on the vault, then copy again into an empty store"
    )

    /// The shred key of each record with contents, at its envelope's generation, in order.
    private func liveShredKeyIDs() async throws -> [String] {
        var ids: [String] = []
        var cursor: LabelCursor?
        repeat {
            let (rows, next) = try await store.labels(from: cursor, limit: Self.copyPage)
            for row in rows {
                guard let stored = try await store.record(row.record) else { continue }
                ids.append(try Envelope.parse(stored.envelopeBytes).shredKeyID)
            }
            cursor = next
        } while cursor != nil
        return ids.sorted()
    }

    /// Copies shred keys a page at a time, each wiped once written.
    private func copyShredKeys(_ ids: [String], to target: any VaultStore) async throws {
        for start in stride(from: 0, to: ids.count, by: Self.copyPage) {
            var batch: [(record: String, key: SecretBytes)] = []
            defer { for entry in batch { entry.key.wipe() } }
            for id in ids[start..<min(ids.count, start + Self.copyPage)] {
                guard let key = try await store.shredKey(id) else {
                    throw TutelaError(.tryAgain, "a shred key went while the vault was copied")
                }
                batch.append((id, key))
            }
            try await target.putShredKeys(batch)
        }
    }

    /// Everything but the shred keys, in one transaction of the target.
    private func copyRows(
        meta: VaultMeta, directory: Directory, into target: any VaultStore, report: CopyReport
    ) async throws -> CopyReport {
        let source = store
        return try await target.transaction { tx in
            var report = report
            try await tx.create(meta)
            for chain in [ChainName.directory, .audit] {
                var next: Int64 = 0
                while true {
                    let links = try await source.links(chain, from: next, limit: Self.copyPage)
                    for link in links { try await tx.append(link, to: chain) }
                    next += Int64(links.count)
                    if links.count < Self.copyPage { break }
                }
                if chain == .audit {
                    report.auditEntries = next
                } else {
                    report.directoryStatements = Int(next)
                }
            }
            for principal in directory.principals.keys.sorted(by: { $0.text < $1.text }) {
                guard let identity = try await source.sealedIdentity(principal) else { continue }
                try await tx.insert(identity)
                report.identities += 1
            }
            var cursor: LabelCursor?
            repeat {
                let (rows, next) = try await source.labels(from: cursor, limit: Self.copyPage)
                for row in rows {
                    let author = try Label.parse(row.labelBytes).author
                    let record = try await source.record(row.record)
                    let tombstone = record == nil
                    if let record {
                        // A record that does not verify is not copied: the whole copy is
                        // rolled back, and nothing lands.
                        _ = try Session.verifiedEnvelope(
                            record, id: row.record, directory: directory)
                        try await tx.insert(record, learner: row.learner, author: author)
                        report.records += 1
                        report.slots += record.slots.count
                    } else {
                        // A tombstone: the label alone, as destruction leaves it.
                        try await tx.insert(
                            StoredRecord(
                                record: row.record, labelBytes: row.labelBytes, sealedBytes: [],
                                slots: []), learner: row.learner, author: author)
                        try await tx.shred(row.record)
                        report.tombstones += 1
                    }
                    let shares = try await source.shares(record: row.record)
                    // Destruction deletes a record's shares with its contents: shares beside a
                    // tombstone were put there.
                    guard !tombstone || shares.isEmpty else {
                        throw TutelaError(
                            .tampered,
                            "the vault database is damaged: the destroyed record \(row.record) has break-glass shares; nothing was copied",
                            hint: AuditLog.restoreHint)
                    }
                    for share in shares {
                        try await tx.put(share)
                        report.shares += 1
                    }
                }
                cursor = next
            } while cursor != nil
            for kind in try await source.objectKinds() {
                for object in try await source.objects(kind: kind, key: nil) {
                    try await tx.put(object)
                    report.objects += 1
                }
            }
            return report
        }
    }

    /// Verifies the copy on its own (with this machine's pins: the copy carries the vault's id),
    /// then against the source, row by row, under the directory the copy itself proves.
    private func prove(copy target: any VaultStore, keyIDs: [String], report: CopyReport)
        async throws
    {
        func mismatch(_ what: String) -> TutelaError {
            TutelaError(
                .tampered, "the copy does not match the vault: \(what); the copy is not to be used",
                hint: "drop the copy's database and key store, and copy again")
        }
        let copied = Vault(store: target, clock: clock, pins: pins)
        let verified = try await copied.verifyAudit(checkpoint: nil)
        let (_, directory) = try await copied.verifiedDirectory()
        guard verified.entries == report.auditEntries,
            try await target.lastLink(.audit) == store.lastLink(.audit),
            try await target.lastLink(.directory) == store.lastLink(.directory),
            try await target.meta() == store.meta()
        else { throw mismatch("the logs' heads") }
        // Both stores paged alike: the same labels, in the same order (the state chains them in
        // that order, and the copy's was checked above).
        var cursors: (source: LabelCursor?, copy: LabelCursor?) = (nil, nil)
        repeat {
            let (rows, next) = try await store.labels(from: cursors.source, limit: Self.copyPage)
            let (copies, copyNext) = try await target.labels(
                from: cursors.copy, limit: Self.copyPage)
            guard rows == copies, (next == nil) == (copyNext == nil) else {
                throw mismatch("the labels, in their order")
            }
            for row in rows {
                let record = try await target.record(row.record)
                guard try await record == store.record(row.record) else {
                    throw mismatch("the record \(row.record)")
                }
                if let record {
                    _ = try Session.verifiedEnvelope(record, id: row.record, directory: directory)
                }
                guard
                    try await target.shares(record: row.record) == store.shares(record: row.record)
                else { throw mismatch("the break-glass shares of \(row.record)") }
            }
            cursors = (next, copyNext)
        } while cursors.source != nil
        guard try await target.recordCount() == store.recordCount() else {
            throw mismatch("the count of records")
        }
        let kinds = try await store.objectKinds()
        guard try await target.objectKinds() == kinds else { throw mismatch("the kinds of fact") }
        for kind in kinds {
            guard
                try await target.objects(kind: kind, key: nil)
                    == store.objects(kind: kind, key: nil)
            else { throw mismatch("the \(kind) rows") }
        }
        for principal in directory.principals.keys {
            guard try await target.sealedIdentity(principal) == store.sealedIdentity(principal)
            else { throw mismatch("the keys of \(principal)") }
        }
        guard try await target.shredKeyIDs() == keyIDs else { throw mismatch("the shred keys") }
        for id in keyIDs {
            let (original, copy) = (try await store.shredKey(id), try await target.shredKey(id))
            defer {
                original?.wipe()
                copy?.wipe()
            }
            guard let original, let copy, original == copy else {
                throw mismatch("the shred key \(id)")
            }
        }
    }
}
