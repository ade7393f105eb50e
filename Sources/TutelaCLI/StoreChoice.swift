import ArgumentParser
import Foundation
import Tutela
import TutelaSQLite

#if TUTELA_SERVER
    import TutelaPostgres
#endif

/// Which store a vault directory holds: the embedded SQLite database, or — for a trust or an
/// authority — a file naming a PostgreSQL vault and its key store (`postgres.json`), with no
/// password in it: passwords come from files private to their owner, or the environment.
struct PostgresChoice: Codable, Equatable {
    /// The file's name inside the vault directory.
    static let fileName = "postgres.json"
    /// The vault's database (`postgres://USER@HOST:PORT/DATABASE?…`).
    var store: String
    /// The key store's database: its own database and user, best on its own server.
    var keyStore: String
    /// A file holding the vault database's password, else `$TUTELA_STORE_PASSWORD`.
    var passwordFile: String?
    /// A file holding the key store's password, else `$TUTELA_KEY_STORE_PASSWORD`.
    var keyStorePasswordFile: String?

    /// The choice written in `directory`, or nil when the directory holds no such file.
    ///
    /// The folder and the file must be this user's own and writable by no one else, and the file
    /// not a link: whoever could plant it would send this user's passwords, and the vault's
    /// writes, to a server of their choosing.
    /// - Throws: `.permissionDenied` for a folder or file others could have written;
    ///   `.invalidInput` when the file is there but does not read.
    static func read(in directory: URL) throws -> PostgresChoice? {
        let file = directory.appendingPathComponent(fileName)
        var info = stat()
        guard lstat(file.path, &info) == 0 else { return nil }
        try Self.requireOwn(file.path, info, kind: S_IFREG)
        var folder = stat()
        guard stat(directory.path, &folder) == 0 else {
            throw TutelaError(.invalidInput, "cannot read the vault folder \(directory.path)")
        }
        try Self.requireOwn(directory.path, folder, kind: S_IFDIR)
        guard let data = FileManager.default.contents(atPath: file.path),
            let choice = try? JSONDecoder().decode(PostgresChoice.self, from: data)
        else {
            throw TutelaError(
                .invalidInput,
                "\(file.path) does not read as a PostgreSQL store's settings",
                hint: "it holds store, keyStore and optionally passwordFile, keyStorePasswordFile")
        }
        return choice
    }

    /// Refuses a path that is not of `kind`, not this user's, or writable by others.
    static func requireOwn(_ path: String, _ info: stat, kind: mode_t) throws {
        guard info.st_mode & S_IFMT == kind, info.st_uid == getuid(),
            info.st_mode & (S_IWGRP | S_IWOTH) == 0
        else {
            throw TutelaError(
                .permissionDenied,
                "\(path) is not private to you: it is a link, someone else's, or others can write it",
                hint:
                    "keep the vault folder and its files yours alone (chmod 700 the folder, 600 the files)"
            )
        }
    }

    /// Refuses a folder for a new vault that holds anything.
    static func requireNew(_ directory: URL) throws {
        let fm = FileManager.default
        guard fm.fileExists(atPath: directory.path) else { return }
        let contents = (try? fm.contentsOfDirectory(atPath: directory.path)) ?? ["?"]
        guard contents.isEmpty else {
            throw TutelaError(
                .exists, "\(directory.path) exists and is not an empty directory",
                hint: "choose a new --vault directory")
        }
    }

    /// Writes the choice into a new folder private to its owner (a new file, renamed into place,
    /// so the folder never holds half of one).
    /// - Throws: `.exists` when the folder holds anything.
    func write(in directory: URL) throws {
        try Self.requireNew(directory)
        let fm = FileManager.default
        do {
            try fm.createDirectory(
                at: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            guard chmod(directory.path, 0o700) == 0 else {
                throw TutelaError(.permissionDenied, "cannot make \(directory.path) private")
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            let staging = directory.appendingPathComponent(".\(Self.fileName).new")
            guard
                fm.createFile(
                    atPath: staging.path, contents: try encoder.encode(self),
                    attributes: [.posixPermissions: 0o600]),
                rename(staging.path, directory.appendingPathComponent(Self.fileName).path) == 0
            else { throw TutelaError(.tryAgain, "cannot write in \(directory.path)") }
        } catch let error as TutelaError {
            throw error
        } catch {
            throw TutelaError(
                .tryAgain, "cannot write \(directory.path): \(error.localizedDescription)")
        }
    }
}

/// What `tutela migrate` leaves in the embedded vault it moved: where the vault went. Every command
/// then refuses the old folder, so no forgotten server or script goes on writing to a copy that
/// has been left behind (a fork of the vault, missing every later revocation).
struct MovedVault: Codable {
    static let fileName = "moved.json"
    /// The new vault folder.
    var movedTo: String
    /// When, as an ISO 8601 date and time.
    var at: String

    /// Refuses a folder whose vault has moved.
    static func refuse(_ directory: URL) throws {
        let file = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: file.path) else { return }
        let moved = FileManager.default.contents(atPath: file.path).flatMap {
            try? JSONDecoder().decode(MovedVault.self, from: $0)
        }
        throw TutelaError(
            .usage,
            "this vault was moved into PostgreSQL\(moved.map { " on \($0.at); it is now \($0.movedTo)" } ?? "")",
            hint: "use --vault with the new folder; keep this one, untouched, as the old copy")
    }
}

extension VaultOptions {
    /// The vault's store: PostgreSQL when the directory names one, else SQLite.
    func store(create: Bool) async throws -> any VaultStore {
        if let choice = try PostgresChoice.read(in: url) {
            return try await Self.postgres(choice, create: create)
        }
        return try sqlite(create: create)
    }

    /// Opens the PostgreSQL store `choice` names, with its passwords. The password variables are
    /// cleared once read, so that no program this one starts (an editor for a draft) inherits them.
    static func postgres(_ choice: PostgresChoice, create: Bool) async throws -> any VaultStore {
        #if TUTELA_SERVER
            let environment = ProcessInfo.processInfo.environment
            defer {
                unsetenv("TUTELA_STORE_PASSWORD")
                unsetenv("TUTELA_KEY_STORE_PASSWORD")
            }
            return try await PostgresVaultStore.open(
                PostgresLocation(choice.store, defaultSchema: "tutela"),
                password: PostgresPassword.read(
                    file: choice.passwordFile, variable: "TUTELA_STORE_PASSWORD",
                    environment: environment),
                keyStore: PostgresLocation(choice.keyStore, defaultSchema: "tutela_keys"),
                keyStorePassword: PostgresPassword.read(
                    file: choice.keyStorePasswordFile, variable: "TUTELA_KEY_STORE_PASSWORD",
                    environment: environment),
                create: create)
        #else
            throw TutelaError(
                .usage,
                "this build of tutela has no PostgreSQL store (built with TUTELA_CORE_ONLY)",
                hint: "use a full build for a PostgreSQL vault")
        #endif
    }
}

/// `--store postgres://…` and its companions, for `init` and `migrate`.
struct PostgresStoreOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Only for a trust or authority sharing one vault between servers: keep it in PostgreSQL at this address, not in SQLite.",
            discussion: """
                postgres://USER@HOST[:PORT]/DATABASE, then any of ?sslmode=verify-full (the \
                default) or disable (this machine only; the default over a socket), \
                &sslrootcert=FILE (the server's certificate authority), &schema=NAME (default \
                tutela), &host=/run/postgresql (a Unix socket's folder). No password in the \
                address: it comes from --store-password-file or $TUTELA_STORE_PASSWORD.
                """
        ))
    var store: String?
    @Option(
        help: ArgumentHelp(
            "Required with --store: where the shred keys live (the keys that make destroyed records unreadable), under a PostgreSQL user of their own.",
            discussion: """
                An address as for --store (default schema tutela_keys); its password comes from \
                --key-store-password-file or $TUTELA_KEY_STORE_PASSWORD.
                """
        ))
    var keyStore: String?
    @Option(help: "With --store: a file, private to you, holding the vault database's password.")
    var storePasswordFile: String?
    @Option(help: "With --store: a file, private to you, holding the key store's password.")
    var keyStorePasswordFile: String?

    /// The PostgreSQL store the options name, checked before anything is made; nil for SQLite
    /// (a usage error when `required`).
    func choice(required: Bool) throws -> PostgresChoice? {
        guard let store else {
            guard !required else {
                throw TutelaError(
                    .usage, "say where the PostgreSQL vault goes: --store postgres://…")
            }
            guard keyStore == nil, storePasswordFile == nil, keyStorePasswordFile == nil else {
                throw TutelaError(.usage, "--key-store and the password files go with --store")
            }
            return nil
        }
        guard let keyStore else {
            throw TutelaError(
                .usage, "a PostgreSQL vault needs --key-store: its shred keys live apart",
                hint: "give the key store its own database and user (docs/OPERATIONS.md)")
        }
        // Checked now, so that a mistake in either address is named before anything is made.
        #if TUTELA_SERVER
            _ = try PostgresLocation(store, defaultSchema: "tutela")
            _ = try PostgresLocation(keyStore, defaultSchema: "tutela_keys")
        #endif
        return PostgresChoice(
            store: store, keyStore: keyStore,
            passwordFile: storePasswordFile.map { URL(fileURLWithPath: $0).path },
            keyStorePasswordFile: keyStorePasswordFile.map { URL(fileURLWithPath: $0).path })
    }
}
