import Foundation
import TutelaTesting

@testable import Tutela
@testable import TutelaSQLite

/// A vault on disk in a fresh temporary directory, removed afterwards.
final class DiskVault {
    let root: URL
    let directory: URL
    let store: SQLiteVaultStore
    let vault: Vault

    init(busyTimeout: TimeInterval = 5) async throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tutela-test-\(UUID().uuidString)")
        directory = root.appendingPathComponent("vault")
        store = try SQLiteVaultStore(directory: directory, create: true, busyTimeout: busyTimeout)
        // The centre every test target shares, on disk.
        vault = try await Centre.make(store: store, clock: .system).vault
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    static func pass(_ who: PrincipalID) throws -> Passphrase {
        try Centre<SQLiteVaultStore>.passphrase(who)
    }

    func session(_ who: PrincipalID) async throws -> Session {
        try await vault.unlock(who, passphrase: Self.pass(who))
    }

    func form(_ marker: String) throws -> ProgressReview {
        let json = """
            {"learner": "sam", "date": "2026-11-20", "course": "Maths", "comments": "\(marker)",
             "tutorComments": "\(marker) again", "targets": [{"target": "\(marker) target"}]}
            """
        return try ProgressReview.parse(Array(json.utf8), source: "form")
    }

    /// Every file under the vault directory (and under `extra`, those modified since `since`) that
    /// contains `marker`.
    func filesContaining(_ marker: String, alsoUnder extra: [URL] = [], since: Date = .distantPast)
        -> [String]
    {
        let needle = Data(marker.utf8)
        var hits: [String] = []
        for base in [directory] + extra {
            let keys: [URLResourceKey] = [.contentModificationDateKey, .isRegularFileKey]
            guard
                let walker = FileManager.default.enumerator(
                    at: base, includingPropertiesForKeys: keys)
            else {
                continue
            }
            for case let url as URL in walker {
                let values = try? url.resourceValues(forKeys: Set(keys))
                guard values?.isRegularFile == true else { continue }
                if base != directory, let modified = values?.contentModificationDate,
                    modified < since
                {
                    continue
                }
                guard let data = try? Data(contentsOf: url, options: .alwaysMapped) else {
                    continue
                }
                if data.range(of: needle) != nil { hits.append(url.path) }
            }
        }
        return hits
    }
}
