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
    /// - Throws: `.invalidInput` when the file is there but does not read.
    static func read(in directory: URL) throws -> PostgresChoice? {
        let file = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        guard let data = try? Data(contentsOf: file),
            let choice = try? JSONDecoder().decode(PostgresChoice.self, from: data)
        else {
            throw TutelaError(
                .invalidInput,
                "\(file.path) does not read as a PostgreSQL store's settings",
                hint: "it holds store, keyStore and optionally passwordFile, keyStorePasswordFile")
        }
        return choice
    }

    /// Writes the choice into a new, private vault directory.
    /// - Throws: `.exists` when the directory holds anything.
    func write(in directory: URL) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: directory.path) {
            let contents = (try? fm.contentsOfDirectory(atPath: directory.path)) ?? ["?"]
            guard contents.isEmpty else {
                throw TutelaError(
                    .exists, "\(directory.path) exists and is not an empty directory",
                    hint: "choose a new --vault directory")
            }
        }
        do {
            try fm.createDirectory(
                at: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            guard
                fm.createFile(
                    atPath: directory.appendingPathComponent(Self.fileName).path,
                    contents: try encoder.encode(self), attributes: [.posixPermissions: 0o600])
            else { throw TutelaError(.tryAgain, "cannot write in \(directory.path)") }
        } catch let error as TutelaError {
            throw error
        } catch {
            throw TutelaError(
                .tryAgain, "cannot write \(directory.path): \(error.localizedDescription)")
        }
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
            "Keep the vault in PostgreSQL at this address (postgres://USER@HOST:PORT/DATABASE), not in SQLite.",
            discussion:
                "No password in the address: it comes from --store-password-file or $TUTELA_STORE_PASSWORD."
        ))
    var store: String?
    @Option(help: "With --store: the key store's own PostgreSQL database (postgres://…).")
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
