extension Session {
    /// Signs `fact` as this session's principal, ready to store.
    func sign<F: Fact>(_ fact: F) throws(TutelaError) -> StoredObject {
        try FactCodec.make(fact, signer: identity, madeUnder: directory.statementCount)
    }

    /// Every fact of `type` filed under `subject` (of every subject when nil), each verified.
    /// - Throws: `.tampered` for any fact that does not verify.
    func facts<F: Fact>(_ type: F.Type, about subject: String?) async throws -> [F] {
        let store = self.store
        let objects = try await verifiedRead {
            let objects = try await store.objects(kind: F.kind.rawValue, key: subject)
            return (objects, try StateClaims.facts(objects, kind: F.kind, subject: subject))
        }
        // Read after: the read catches this session up with the directory the facts rest on.
        let directory = self.directory
        var result: [F] = []
        for object in objects {
            result.append(try FactCodec.read(object, as: type, directory: directory).fact)
        }
        return result
    }

    /// The subjects (record ids) of every fact of each of `kinds`, in that order, checked against
    /// the vault's state so that none can be hidden by deleting its row. Nothing is parsed: a
    /// caller that acts on one fact reads and verifies it.
    func factSubjects(_ kinds: [FactKind]) async throws -> [Set<String>] {
        let store = self.store
        return try await verifiedRead {
            var claims = StateClaims()
            var subjects: [Set<String>] = []
            for kind in kinds {
                let objects = try await store.objects(kind: kind.rawValue, key: nil)
                try claims.addFacts(objects, kind: kind, subject: nil)
                subjects.append(Set(objects.map(\.key)))
            }
            return (subjects, claims)
        }
    }

    /// A record read outside a transaction, checked against the vault's state: nil when there is
    /// none (never stored, or destroyed), `.tampered` when its rows do not match.
    func verifiedRecord(_ id: RecordID) async throws -> StoredRecord? {
        let store = self.store
        return try await verifiedRead {
            let record = try await store.record(id)
            var claims = StateClaims()
            try claims.addRecord(id, record)
            return (record, claims)
        }
    }

    /// The fact of `type` filed under `subject`, verified, for kinds with one per subject.
    func fact<F: Fact>(_ type: F.Type, about subject: String) async throws -> F? {
        try await facts(type, about: subject).first
    }

    /// The same, read inside a transaction so that a decision sees what its audit entry records.
    static func facts<F: Fact>(
        _ type: F.Type, about subject: String, tx: any VaultTransaction, directory: Directory
    ) async throws -> [F] {
        let objects = try await tx.objects(kind: F.kind.rawValue, key: subject)
        try await StateTransaction.of(tx).verify(objects, kind: F.kind, subject: subject)
        return try objects.map { object throws(TutelaError) in
            try FactCodec.read(object, as: type, directory: directory).fact
        }
    }
}
