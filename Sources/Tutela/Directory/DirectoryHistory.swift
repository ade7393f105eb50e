import Synchronization
public import TutelaCrypto

/// Directories as they stood after an earlier statement: what judges a signed act by the policy,
/// roles and revocations in force when it was made (a re-seal names the statement count its sealer
/// had verified). Replayed from the statements the directory already verified, and kept for reuse.
final class DirectoryHistory: Sendable {
    /// Enough for the flags and re-seals of a busy queue; each is replayed from the nearest
    /// earlier one kept.
    private static let capacity = 64
    private let replayed = Mutex<[Int64: Directory]>([:])

    /// The directory after `count` statements: kept, or replayed by `replay` from the nearest
    /// earlier one kept (nil for none).
    func directory(
        _ count: Int64, replay: (Directory?) throws(TutelaError) -> Directory
    ) throws(TutelaError) -> Directory {
        let (known, base) = replayed.withLock { kept in
            (kept[count], kept.filter { $0.key < count }.max { $0.key < $1.key }?.value)
        }
        if let known { return known }
        let directory = try replay(base)
        replayed.withLock {
            if $0.count >= Self.capacity { $0.removeAll() }
            $0[count] = directory
        }
        return directory
    }
}

extension Directory {
    /// How many statements this directory has verified.
    public var statementCount: Int64 { Int64(statements.count) }

    /// The directory as it stood after its first `count` statements.
    /// - Throws: `.tampered` when it has fewer (something claims a directory that never was).
    func asOf(_ count: Int64) throws(TutelaError) -> Directory {
        guard count >= 1, count <= statementCount else {
            throw .tampered(
                "something claims the directory's first \(count) statements, but it has "
                    + "\(statementCount)")
        }
        if count == statementCount { return self }
        // Every statement was verified (hashes, signatures, signers) when this directory was
        // built; replaying them only applies them again.
        let statements = self.statements
        return try history.directory(count) { base throws(TutelaError) in
            do throws(TutelaError) {
                return try Directory.replayed(statements, count: Int(count), from: base)
            } catch {
                throw .internal("a verified directory could not be replayed: \(error.message)")
            }
        }
    }
}

extension Directory {
    /// The public key `role`'s group had at `version`, from the statement that published it; nil
    /// if no statement did.
    func groupPublicKey(_ role: Role, version: Int) throws(TutelaError) -> KeyAgreementPublicKey? {
        if let group = groups[role], group.version == version { return group.publicKey }
        for link in statements.reversed() {
            let (statement, _) = try DirectoryStatement.decode(
                link.body, context: "directory statement \(link.sequence)")
            guard case .groupKey(role, version, let publicKey) = statement else { continue }
            do { return try KeyAgreementPublicKey(bytes: publicKey) } catch {
                throw .tampered("the published \(role.rawValue) v\(version) group key is malformed")
            }
        }
        return nil
    }
}
