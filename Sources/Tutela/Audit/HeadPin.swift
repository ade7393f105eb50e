public import Foundation
import TutelaCrypto

#if canImport(Glibc)
    import Glibc
#endif

/// The last audit-log head this machine saw for a vault, kept outside the vault directory.
///
/// A vault whose log no longer extends the pinned head was rolled back (restored from an older copy)
/// or truncated, and Tutela refuses it until someone accepts the restore on purpose.
public struct HeadPin: Sendable, Equatable, Codable {
    /// Number of audit entries when the pin was taken.
    public let entries: Int64
    /// Hex BLAKE2b-256 hash of the last of them.
    public let head: String
}

/// Where pins are kept: one small JSON file per vault id.
public protocol HeadPinStore: Sendable {
    /// The pin saved for `vaultID`, or nil if this machine has none.
    func load(vaultID: String) throws -> HeadPin?
    /// Saves `pin`; unless `replacing`, a pin is only ever moved forward.
    func save(_ pin: HeadPin, vaultID: String, replacing: Bool) throws
    /// What this machine verified of the vault's log in full, if it keeps such a memo.
    func loadVerified(vaultID: String) -> VerifiedLog?
    /// Keeps the memo of a full verification (best effort: losing it costs only time).
    func saveVerified(_ memo: VerifiedLog, vaultID: String)
}

extension HeadPinStore {
    /// No memo: every reading of the log verifies it in full.
    public func loadVerified(vaultID: String) -> VerifiedLog? { nil }
    /// No memo is kept.
    public func saveVerified(_ memo: VerifiedLog, vaultID: String) {}
}

/// Pins as files under a state directory (by default `$XDG_STATE_HOME/tutela/heads`, else
/// `~/.local/state/tutela/heads`), only ever moved forward.
///
/// Each vault's pin is one 1024-byte file with two slots, 512 bytes apart so they never share a disk
/// sector. A save overwrites the older slot in place under an exclusive lock and syncs its data:
/// one small synced write, no rename and no directory sync (a fifth of the cost of the atomic
/// replace it took before). A slot carries a counter and a BLAKE2b checksum, so a write torn by a
/// power cut spoils only the slot being written and the load falls back to the other, one step
/// behind — which the vault's log still extends. See docs/FORMAT.md, "Head pin".
public struct FileHeadPinStore: HeadPinStore {
    /// The directory holding one pin file per vault; created on the first save.
    public let directory: URL

    static let fileSize = 1024
    static let slotStride = 512
    static let slotSize = 96
    static let magic = Array("tutela/pin/v1\0\0\0".utf8)

    /// Keeps pins under `directory`.
    public init(directory: URL) {
        self.directory = directory
    }

    /// The default location, honouring `$TUTELA_STATE_DIR` and `$XDG_STATE_HOME`.
    public static func standard(environment: [String: String]) -> FileHeadPinStore {
        let base: URL
        if let explicit = environment["TUTELA_STATE_DIR"], !explicit.isEmpty {
            base = URL(fileURLWithPath: explicit)
        } else if let xdg = environment["XDG_STATE_HOME"], !xdg.isEmpty {
            base = URL(fileURLWithPath: xdg).appendingPathComponent("tutela")
        } else {
            base = FileManager.default.homeDirectoryForCurrentUser
                .appendingPathComponent(".local/state/tutela")
        }
        return FileHeadPinStore(directory: base.appendingPathComponent("heads"))
    }

    /// The pin file of a vault.
    func file(_ vaultID: String) throws -> URL {
        guard vaultID.allSatisfy({ $0.isHexDigit }), !vaultID.isEmpty else {
            throw TutelaError(.invalidInput, "the vault id is not plain hex")
        }
        return directory.appendingPathComponent("\(vaultID).pin")
    }

    /// Where versions before the slotted file kept the pin, as JSON; read once, then replaced.
    private func legacyFile(_ vaultID: String) throws -> URL {
        try file(vaultID).deletingPathExtension().appendingPathExtension("json")
    }

    private func unreadable(_ url: URL) -> TutelaError {
        TutelaError(
            .tampered, "the saved log head for this vault (\(url.path)) is unreadable",
            hint: "if you trust the vault, accept it with 'tutela audit accept-restore'")
    }

    private func cannotSave(_ url: URL, _ why: String) -> TutelaError {
        TutelaError(
            .tryAgain, "could not save the log head to \(url.path): \(why)",
            hint: "check that the state directory is writable")
    }

    /// The newer valid slot of the vault's pin file; if there is no such file, the pin in the JSON
    /// file older versions kept, or nil if there is neither.
    /// - Throws: if `vaultID` is not plain hex, or a pin file exists but cannot be read or has no
    ///   valid slot.
    public func load(vaultID: String) throws -> HeadPin? {
        let url = try file(vaultID)
        let fd = open(url.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            guard errno == ENOENT else { throw unreadable(url) }
            return try loadLegacy(vaultID)
        }
        defer { close(fd) }
        guard let newest = Self.newest(fd) else { throw unreadable(url) }
        return newest.pin
    }

    private func loadLegacy(_ vaultID: String) throws -> HeadPin? {
        let url = try legacyFile(vaultID)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        do { return try JSONDecoder().decode(HeadPin.self, from: data) } catch {
            throw unreadable(url)
        }
    }

    /// Writes `pin` over the older slot of the vault's pin file, creating the file if needed.
    /// Unless `replacing`, a pin no further on than the saved one is ignored. `replacing`, for an
    /// accepted restore, may move the pin back and restarts a file whose slots are both spoilt.
    /// - Throws: if `vaultID` is not plain hex, `pin` is not a 32-byte hash, or the file cannot be
    ///   locked, written or synced.
    public func save(_ pin: HeadPin, vaultID: String, replacing: Bool) throws {
        let url = try file(vaultID)
        guard let head = Hex.decode(pin.head), head.count == 32, pin.entries >= 0 else {
            throw TutelaError.internal("a log head to pin is not a 32-byte hash")
        }
        let fd = open(url.path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            guard errno == ENOENT else { throw cannotSave(url, String(cString: strerror(errno))) }
            return try create(pin, head: head, vaultID: vaultID, replacing: replacing)
        }
        defer { close(fd) }
        // The lock makes read-compare-write one step for concurrent commands on this machine.
        guard flock(fd, LOCK_EX) == 0 else {
            throw cannotSave(url, String(cString: strerror(errno)))
        }
        guard let newest = Self.newest(fd) else {
            // Both slots spoilt: only an administrator's accept-restore may start the file afresh.
            guard replacing else { throw unreadable(url) }
            return try create(pin, head: head, vaultID: vaultID, replacing: true)
        }
        if !replacing, newest.pin.entries >= pin.entries { return }
        let counter = newest.counter &+ 1
        let slot = try Self.encode(pin, head: head, counter: counter)
        let offset = off_t(Int(counter % 2) * Self.slotStride)
        let written = slot.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, offset) }
        guard written == slot.count, fdatasync(fd) == 0 else {
            throw cannotSave(url, String(cString: strerror(errno)))
        }
    }

    /// Writes a new pin file whole: to a temporary name, synced, renamed, directory synced.
    private func create(_ pin: HeadPin, head: [UInt8], vaultID: String, replacing: Bool) throws {
        let url = try file(vaultID)
        var (pin, head) = (pin, head)
        if !replacing, let legacy = try? loadLegacy(vaultID), legacy.entries > pin.entries,
            let legacyHead = Hex.decode(legacy.head), legacyHead.count == 32
        {
            (pin, head) = (legacy, legacyHead)
        }
        var bytes = [UInt8](repeating: 0, count: Self.fileSize)
        let first = try Self.encode(pin, head: head, counter: 1)
        bytes.replaceSubrange(Self.slotStride..<(Self.slotStride + first.count), with: first)
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
        } catch {
            throw cannotSave(url, error.localizedDescription)
        }
        let temporary = directory.appendingPathComponent(".\(vaultID).\(getpid()).tmp")
        let fd = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw cannotSave(url, String(cString: strerror(errno))) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = written == bytes.count && fsync(fd) == 0
        close(fd)
        guard synced, rename(temporary.path, url.path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temporary.path)
            throw cannotSave(url, why)
        }
        let dir = open(directory.path, O_RDONLY | O_CLOEXEC)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
        if let legacy = try? legacyFile(vaultID) { unlink(legacy.path) }
    }

    /// One slot: magic ‖ u64 counter ‖ i64 entries ‖ head (32) ‖ BLAKE2b-256 of all before it.
    static func encode(_ pin: HeadPin, head: [UInt8], counter: UInt64) throws(TutelaError)
        -> [UInt8]
    {
        var bytes = magic
        withUnsafeBytes(of: counter.littleEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: pin.entries.littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: head)
        do { bytes.append(contentsOf: try BLAKE2b.hash(bytes)) } catch {
            throw .internal("the log head could not be checksummed")
        }
        return bytes
    }

    /// The valid slot with the higher counter: nil when neither slot is valid (a file that is all
    /// zeroes, cut short or damaged in both places).
    static func newest(_ fd: Int32) -> (pin: HeadPin, counter: UInt64)? {
        var bytes = [UInt8](repeating: 0, count: fileSize)
        let count = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count == fileSize else { return nil }
        var best: (pin: HeadPin, counter: UInt64)?
        for offset in [0, slotStride] {
            let slot = Array(bytes[offset..<(offset + slotSize)])
            guard let decoded = decode(slot) else { continue }
            if best.map({ decoded.counter > $0.counter }) ?? true { best = decoded }
        }
        return best
    }

    static func decode(_ slot: [UInt8]) -> (pin: HeadPin, counter: UInt64)? {
        guard slot.count == slotSize, slot.starts(with: magic),
            let sum = try? BLAKE2b.hash(Array(slot[0..<64])), slot[64..<96].elementsEqual(sum)
        else { return nil }
        func integer(_ at: Int) -> UInt64 {
            slot[at..<(at + 8)].reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }
        let counter = integer(16)
        let entries = Int64(bitPattern: integer(24))
        guard counter > 0, entries >= 0 else { return nil }
        return (HeadPin(entries: entries, head: Hex.encode(Array(slot[32..<64]))), counter)
    }
}
