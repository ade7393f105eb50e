extension Session {
    /// Signs `fact` as this session's principal, ready to store.
    func sign<F: Fact>(_ fact: F) throws(TutelaError) -> StoredObject {
        try FactCodec.make(fact, signer: identity)
    }

    /// Every fact of `type` filed under `subject` (of every subject when nil), each verified.
    /// - Throws: `.tampered` for any fact that does not verify.
    func facts<F: Fact>(_ type: F.Type, about subject: String?) async throws -> [F] {
        let directory = self.directory
        var result: [F] = []
        for object in try await store.objects(kind: F.kind.rawValue, key: subject) {
            result.append(try FactCodec.read(object, as: type, directory: directory).fact)
        }
        return result
    }

    /// The fact of `type` filed under `subject`, verified, for kinds with one per subject.
    func fact<F: Fact>(_ type: F.Type, about subject: String) async throws -> F? {
        try await facts(type, about: subject).first
    }

    /// The same, read inside a transaction so that a decision sees what its audit entry records.
    static func facts<F: Fact>(
        _ type: F.Type, about subject: String, tx: any VaultTransaction, directory: Directory
    ) async throws -> [F] {
        try await tx.objects(kind: F.kind.rawValue, key: subject).map {
            object throws(TutelaError) in
            try FactCodec.read(object, as: type, directory: directory).fact
        }
    }
}
