public import Foundation
import TutelaCrypto

/// How much of a vault's audit log this machine has verified in full — every signature against
/// the key that was its signer's then — and under which directory: a reading of the log may then
/// spare the signatures of that prefix, recomputing only its hashes and links.
///
/// The prefix's last hash fixes every entry before it (each link carries the hash of the one
/// before), so a prefix whose entry `entries - 1` still hashes to `head` is the one that was
/// verified; one that does not — rewritten, cut, or restored — is verified in full again. The
/// memo is this machine's own, kept beside its head pin and no more trusted than it: lost or
/// unreadable, the next reading verifies everything. See docs/FORMAT.md, "Verified-log memo".
public struct VerifiedLog: Sendable, Equatable, Codable {
    /// Entries verified, from the first.
    public let entries: Int64
    /// Hex BLAKE2b-256 hash of the last of them.
    public let head: String
    /// Directory statements the verification judged signatures by.
    public let directoryCount: Int64
    /// Hex hash of the last of those statements (zeros for none).
    public let directoryHead: String

    /// A memo of `entries` verified with `head` last, under `directory`.
    init(entries: Int64, head: [UInt8], directory: Directory) {
        self.entries = entries
        self.head = Hex.encode(head)
        self.directoryCount = directory.statementCount
        self.directoryHead = Hex.encode(directory.head?.hash ?? StateMap.zero)
    }

    /// Whether the memo was made under a directory that `directory` extends: the same statements
    /// up to its count, so every signer's keys at those positions are what they were then.
    func holds(under directory: Directory) -> Bool {
        guard entries > 0, directoryCount >= 0, directoryCount <= directory.statementCount else {
            return false
        }
        let then =
            directoryCount == 0 ? StateMap.zero : directory.statements[Int(directoryCount - 1)].hash
        return Hex.encode(then) == directoryHead
    }

    /// The leading entries of the log in `store` that may spare their signatures, with the hash
    /// the last of them must still have: the memo's, when its last entry is still there with that
    /// hash, recomputed from its bytes, and it was made under a directory this one extends;
    /// otherwise nil.
    func sparing(store: any VaultStore, directory: Directory) async throws
        -> (entries: Int64, head: [UInt8])?
    {
        guard holds(under: directory), let head = Hex.decode(head), head.count == 32,
            let last = try await store.links(.audit, from: entries - 1, limit: 1).first,
            last.sequence == entries - 1, SignedChain.checkHash(last, in: .audit),
            last.hash == head
        else { return nil }
        return (entries, head)
    }
}

extension FileHeadPinStore {
    /// The memo file of a vault, beside its pin.
    func memoFile(_ vaultID: String) throws -> URL {
        try file(vaultID).deletingPathExtension().appendingPathExtension("verified")
    }

    /// The memo of what this machine verified of the vault's log, or nil when there is none or it
    /// cannot be read (a full verification follows, so nothing is lost but time).
    public func loadVerified(vaultID: String) -> VerifiedLog? {
        guard let url = try? memoFile(vaultID),
            let handle = try? FileHandle(forReadingFrom: url),
            let data = try? handle.read(upToCount: 1024)
        else { return nil }
        try? handle.close()
        return try? JSONDecoder().decode(VerifiedLog.self, from: data)
    }

    /// Saves the memo, replacing the previous one by a rename: a memo torn or lost by a crash is
    /// simply not used. Best effort: a memo that cannot be written costs only time.
    public func saveVerified(_ memo: VerifiedLog, vaultID: String) {
        guard let url = try? memoFile(vaultID), let data = try? JSONEncoder().encode(memo) else {
            return
        }
        try? FileManager.default.createDirectory(
            at: directory, withIntermediateDirectories: true,
            attributes: [.posixPermissions: 0o700])
        let temporary = directory.appendingPathComponent(".\(vaultID).\(getpid()).verified.tmp")
        guard
            FileManager.default.createFile(
                atPath: temporary.path, contents: data, attributes: [.posixPermissions: 0o600])
        else { return }
        if rename(temporary.path, url.path) != 0 { unlink(temporary.path) }
    }
}
