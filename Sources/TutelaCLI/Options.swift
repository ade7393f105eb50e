import ArgumentParser
import Foundation
import Tutela
import TutelaSQLite

/// `--vault DIR`: default `$TUTELA_VAULT`, else `./tutela-vault`.
struct VaultOptions: ParsableArguments {
    @Option(name: .long, help: "The vault directory (default: $TUTELA_VAULT, else ./tutela-vault).")
    var vault: String?

    var url: URL {
        let path = vault ?? ProcessInfo.processInfo.environment["TUTELA_VAULT"] ?? "tutela-vault"
        return URL(fileURLWithPath: path)
    }

    /// The vault in the directory: on PostgreSQL when the directory names one
    /// (``PostgresChoice``), else on SQLite.
    func open() async throws -> Vault {
        Vault(store: try await store(create: false), pins: Self.pins)
    }

    /// The SQLite store; `$TUTELA_BUSY_TIMEOUT` (seconds, default 5) bounds the wait for a writer.
    func sqlite(create: Bool) throws -> SQLiteVaultStore {
        try MovedVault.refuse(url)
        let environment = ProcessInfo.processInfo.environment
        let timeout = environment["TUTELA_BUSY_TIMEOUT"].flatMap(Double.init) ?? 5
        return try SQLiteVaultStore(
            directory: url, create: create, busyTimeout: max(0, min(timeout, 600)))
    }

    /// This machine's record of each vault's last audit head, kept outside the vault.
    static var pins: FileHeadPinStore {
        FileHeadPinStore.standard(environment: ProcessInfo.processInfo.environment)
    }
}

/// `--as ID` and where their passphrase comes from.
struct ActorOptions: ParsableArguments {
    @Option(name: .customLong("as"), help: "Who is acting (a principal id).")
    var actor: String

    @Option(
        name: .long,
        help:
            "Read the passphrase from this file, private to you (else $TUTELA_PASSPHRASE, else a prompt)."
    )
    var passphraseFile: String?

    func passphrase() throws -> Passphrase {
        try Passphrases.read(
            environment: "TUTELA_PASSPHRASE", file: passphraseFile,
            prompt: "Passphrase for \(actor): ",
            confirm: false)
    }

    /// The acting principal's id; a usage error (64) when `--as` is not an id.
    func principal() throws(TutelaError) -> PrincipalID { try PrincipalID(actor) }

    /// Unlocks the acting principal: the one Argon2id derivation of the command.
    /// Unlocks `vault` as this actor and, unless `catchingUp` is false or a restore is being
    /// accepted, does the work queued for their groups first (``Lifecycle/catchUpGroups()``).
    func unlock(
        _ vault: Vault, acceptingRestore: Bool = false, catchingUp: Bool = true
    ) async throws -> Session {
        try await unlockKeepingPassphrase(
            vault, acceptingRestore: acceptingRestore, catchingUp: catchingUp
        ).session
    }

    /// ``unlock(_:acceptingRestore:catchingUp:)``, returning the passphrase read (once) as well.
    func unlockKeepingPassphrase(
        _ vault: Vault, acceptingRestore: Bool = false, catchingUp: Bool = true
    ) async throws -> (session: Session, passphrase: Passphrase) {
        let id = try principal()
        let passphrase = try passphrase()
        var session = try await vault.unlock(
            id, passphrase: passphrase, acceptingRestore: acceptingRestore)
        if !acceptingRestore, catchingUp {
            // Work queued for this person is done at their next command, whatever it is.
            let (caughtUp, notes) = try await session.catchUp(passphrase: passphrase)
            session = caughtUp
            for note in notes { Terminal.note(note) }
        }
        return (session, passphrase)
    }
}

/// Where a new identity's passphrase comes from.
struct NewPassphraseOptions: ParsableArguments {
    @Option(
        name: .long,
        help:
            "Read the new passphrase from this file, private to you (else $TUTELA_NEW_PASSPHRASE, else a prompt)."
    )
    var newPassphraseFile: String?

    func passphrase(for who: PrincipalID) throws -> Passphrase {
        let passphrase = try Passphrases.read(
            environment: "TUTELA_NEW_PASSPHRASE", file: newPassphraseFile,
            prompt: "New passphrase for \(who): ", confirm: true)
        try passphrase.validateAsNew()
        return passphrase
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print one JSON document on stdout.")
    var json = false

    /// An opened record: its JSON, or the form box by box.
    func show(_ opened: OpenedRecord, session: Session) throws {
        if json {
            try Terminal.json(OpenedJSON(opened))
        } else {
            Terminal.out(FormText.render(opened, time: session.localTime))
        }
    }

    /// A newly sealed record: its label as JSON, or its id on stdout and a line for people on stderr.
    func show(sealed label: Label) throws {
        if json {
            try Terminal.json(LabelJSON(label))
        } else {
            Terminal.out(label.record.text)
            Terminal.note(
                "Sealed \(label.record): \(label.envelopeText), learner \(label.learner).")
        }
    }
}

enum Passphrases {
    static let maximumFileBytes = 4096

    static func read(environment: String, file: String?, prompt: String, confirm: Bool) throws
        -> Passphrase
    {
        // What the command line names wins over what the environment happens to hold.
        if let file {
            let bytes = try SecretFile.read(
                file, maximum: maximumFileBytes, what: "passphrase file")
            defer { bytes.wipe() }
            return try Passphrase(secret: bytes)
        }
        if let value = ProcessInfo.processInfo.environment[environment] {
            return try Passphrase(value)
        }
        guard Terminal.stdinIsTerminal else {
            throw TutelaError(
                .usage, "a passphrase is needed and there is no terminal to ask for it",
                hint:
                    "pass --\(environment == "TUTELA_PASSPHRASE" ? "passphrase-file" : "new-passphrase-file") FILE (a file only you can read), or set \(environment)"
            )
        }
        let first = try Terminal.readSecret(prompt: prompt)
        if confirm {
            let second = try Terminal.readSecret(prompt: "Repeat it: ")
            guard first == second else { throw TutelaError(.usage, "the two passphrases differ") }
        }
        defer { first.wipe() }
        return try Passphrase(secret: first)
    }
}

/// Parses a `YYYY-MM-DD` option value.
func parseDate(_ text: String, option: String) throws -> CalendarDate {
    guard let date = CalendarDate(text) else {
        throw TutelaError(
            .usage, "\(option) '\(text)' is not a date", hint: "write dates as YYYY-MM-DD")
    }
    return date
}

/// One value in a command's `--json` result.
enum JSONField: Encodable, ExpressibleByStringInterpolation, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral
{
    case text(String)
    case number(Int)
    case flag(Bool)
    case list([String])

    init(stringLiteral value: String) { self = .text(value) }
    init(integerLiteral value: Int) { self = .number(value) }
    init(booleanLiteral value: Bool) { self = .flag(value) }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .text(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .flag(let value): try container.encode(value)
        case .list(let value): try container.encode(value)
        }
    }
}

extension OutputOptions {
    /// What a command did: `text` for people, or with `--json` the one JSON document `fields`.
    func done(_ text: String, _ fields: [String: JSONField]) throws {
        if json { try Terminal.json(fields) } else { Terminal.out(text) }
    }

    /// Prints `shape` as JSON under `--json`, else `text`.
    func done(_ text: @autoclosure () -> String, _ shape: some Encodable) throws {
        if json { try Terminal.json(shape) } else { Terminal.out(text()) }
    }
}

/// Whether a tutorial is totally confidential: the tutor's choice, never a box on the form.
struct ConfidentialOption: ParsableArguments {
    @Flag(help: "A totally confidential tutorial: only the author and the learner can open it.")
    var confidential = false
}
