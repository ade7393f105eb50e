import Synchronization
public import TutelaCrypto

/// Directories as they stood after an earlier statement: what judges a signed act by the policy,
/// roles and revocations in force when it was made (a re-seal names the statement count its sealer
/// had verified). Replayed from the statements the directory already verified, and kept for reuse.
final class DirectoryHistory: Sendable {
    /// A few at most: re-seals made together share one.
    private static let capacity = 8
    private let replayed = Mutex<[Int64: Directory]>([:])

    func directory(
        _ count: Int64, replay: () throws(TutelaError) -> Directory
    ) throws(TutelaError) -> Directory {
        if let known = replayed.withLock({ $0[count] }) { return known }
        let directory = try replay()
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
        let prefix = Array(statements.prefix(Int(count)))
        return try history.directory(count) { () throws(TutelaError) in
            let (genesis, _) = try DirectoryStatement.decode(
                prefix[0].body, context: "directory entry 0")
            guard case .establish(_, let authority, _) = genesis else {
                throw .tampered("directory entry 0 does not establish the vault")
            }
            return try Directory.verify(prefix, pinnedAuthorityKey: authority.signingKey)
        }
    }
}
