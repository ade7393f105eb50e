public import Foundation

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
    func load(vaultID: String) throws -> HeadPin?
    /// Saves `pin`; unless `replacing`, a pin is only ever moved forward.
    func save(_ pin: HeadPin, vaultID: String, replacing: Bool) throws
}

/// Pins as files under a state directory (by default `$XDG_STATE_HOME/tutela/heads`, else
/// `~/.local/state/tutela/heads`), written atomically and only ever moved forward.
public struct FileHeadPinStore: HeadPinStore {
    public let directory: URL

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

    private func file(_ vaultID: String) throws -> URL {
        guard vaultID.allSatisfy({ $0.isHexDigit }), !vaultID.isEmpty else {
            throw TutelaError(.data, "the vault id is not plain hex")
        }
        return directory.appendingPathComponent("\(vaultID).json")
    }

    public func load(vaultID: String) throws -> HeadPin? {
        let url = try file(vaultID)
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        do { return try JSONDecoder().decode(HeadPin.self, from: data) } catch {
            throw TutelaError(
                .data, "the saved log head for this vault (\(url.path)) is unreadable",
                hint: "if you trust the vault, accept it with 'tutela audit accept-restore'")
        }
    }

    public func save(_ pin: HeadPin, vaultID: String, replacing: Bool) throws {
        if !replacing, let existing = try? load(vaultID: vaultID), existing.entries > pin.entries {
            return
        }
        let url = try file(vaultID)
        do {
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            try JSONEncoder().encode(pin).write(to: url, options: .atomic)
        } catch {
            throw TutelaError(
                .tryAgain,
                "could not save the log head to \(url.path): \(error.localizedDescription)",
                hint: "check that the state directory is writable")
        }
    }

}
