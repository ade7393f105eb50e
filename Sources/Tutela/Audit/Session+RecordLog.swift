extension Session {
    /// The audit entries about `record`, oldest first, read without the rest of the log: the
    /// newest found through the state's index of the record (``SubjectIndex``), each earlier one
    /// through the entry after it, every one genuine (its hash and its signer's signature) and
    /// about the record, and the chain over them the one the state holds — so an entry deleted,
    /// added, changed or moved is tampering (65). The entry that sealed the record, which the
    /// index binds apart (its position and digest), must be that sealing.
    func entries(about record: RecordID) async throws -> [AuditRecord] {
        let (store, directory) = (self.store, self.directory)
        return try await verifiedRead {
            var claims = StateClaims()
            let key = StateKey.audit(record.text)
            let value = try await StateMap.stored([key], in: store)[key.text]
            claims.add(key, value)
            let index = try SubjectIndex(value, subject: record.text)
            var found: [AuditRecord] = []
            var at = index.newest
            while at >= 0, found.count < index.count {
                let item = try await Self.genuineEntry(at: at, store: store, directory: directory)
                guard item.entry.subject == record.text else {
                    throw TutelaError.tampered(
                        "audit entry \(at), which the index of \(record)'s entries names, is "
                            + "not about it")
                }
                found.append(item)
                at = item.entry.previous
            }
            var rebuilt = SubjectIndex().with(sealing: index.sealing, digest: index.sealingDigest)
            for item in found.reversed() { try rebuilt.append(item.entry, at: item.sequence) }
            guard at == -1, rebuilt == index else {
                throw TutelaError.tampered(
                    "\(record)'s audit entries do not match the index of them the vault's state "
                        + "holds")
            }
            if let sealing = try await Self.sealingEntry(
                of: record, index: index, store: store, directory: directory, claims: &claims)
            {
                guard !found.contains(where: { $0.sequence == sealing.sequence }) else {
                    throw TutelaError.tampered(
                        "audit entry \(sealing.sequence) is not the one that sealed \(record)")
                }
                found.append(sealing)
            }
            return (found.sorted { $0.sequence < $1.sequence }, claims)
        }
    }

    /// The entry at `sequence`, shown genuine: stored where it says, its hash recomputed, signed
    /// by its actor with the key that was theirs at the directory position it records.
    private static func genuineEntry(
        at sequence: Int64, store: any VaultStore, directory: Directory
    ) async throws -> AuditRecord {
        guard let link = try await store.link(.audit, at: sequence), link.sequence == sequence,
            let entry = AuditEntry.genuine(link, directory: directory), entry.actor == link.signer
        else {
            throw TutelaError.tampered("audit entry \(sequence) is missing or not genuine")
        }
        return AuditRecord(sequence: sequence, entry: entry)
    }

    /// The entry that sealed `record`, where its index says, with the digest it holds: a genuine,
    /// allowed `seal` or `addendum` of the record by its author. Nil for an id never sealed (its
    /// index names no sealing, and there is no envelope); a record stored whose index names none
    /// is tampering.
    private static func sealingEntry(
        of record: RecordID, index: SubjectIndex, store: any VaultStore, directory: Directory,
        claims: inout StateClaims
    ) async throws -> AuditRecord? {
        let stored = try await store.record(record)
        let author = try stored.map {
            try Session.verifiedEnvelope($0, id: record, directory: directory).label.author
        }
        try claims.addRecord(record, stored)
        guard index.sealing >= 0 else {
            guard author == nil else {
                throw TutelaError.tampered(
                    "the index of \(record)'s audit entries does not say where it was sealed")
            }
            return nil
        }
        let item = try await genuineEntry(at: index.sealing, store: store, directory: directory)
        guard SubjectIndex.seals(item.entry, record.text),
            try item.entry.contentDigest() == index.sealingDigest,
            author.map({ $0 == item.entry.actor }) ?? true
        else {
            throw TutelaError.tampered(
                "audit entry \(item.sequence) is not the one that sealed \(record)")
        }
        return item
    }
}
