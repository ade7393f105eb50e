import ArgumentParser
import Foundation
import Tutela
import TutelaCrypto
import TutelaSQLite

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a vault and its authority identity.",
        discussion: """
            The vault is a folder holding one SQLite database: right for one school or college on \
            one machine. A trust or local authority sharing one vault between several servers keeps \
            it in PostgreSQL instead (--store and --key-store; docs/OPERATIONS.md, "PostgreSQL"); \
            the folder then holds only where it is.
            """)

    @OptionGroup var vault: VaultOptions
    @Option(help: "The authority's principal id.") var authority: String
    @Option(help: "The authority's display name.") var name: String
    @Option(help: "Argon2id cost: interactive, moderate or sensitive.")
    var kdf: String = PasswordKDF.Profile.moderate.rawValue
    @Option(help: "A policy file to apply as version 1 (e.g. KeyPolicies/school.yaml).") var policy:
        String?
    @OptionGroup var postgres: PostgresStoreOptions
    @OptionGroup var newPassphrase: NewPassphraseOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        guard let profile = PasswordKDF.Profile(rawValue: kdf) else {
            throw TutelaError(.usage, "--kdf must be interactive, moderate or sensitive")
        }
        let authority = try PrincipalID(self.authority)
        let policyFile = try policy.map { path in
            let bytes = try PolicyCommand.read(path)
            let source = URL(fileURLWithPath: path).lastPathComponent
            _ = try Policy.parse(bytes, source: source)
            return (text: bytes, source: source)
        }
        let choice = try postgres.choice(required: false)
        let passphrase = try newPassphrase.passphrase(for: authority)
        let store: any VaultStore
        if let choice {
            // Reached before anything is written: a wrong address or password leaves no folder.
            store = try await VaultOptions.postgres(choice, create: true)
            try choice.write(in: vault.url)
        } else {
            store = try vault.sqlite(create: true)
        }
        let identity: PublicIdentity
        do {
            identity = try await Vault.create(
                store: store, authorityID: authority, authorityName: name, passphrase: passphrase,
                kdf: profile, pins: VaultOptions.pins, policy: policyFile)
        } catch {
            // The folder made for a PostgreSQL vault that was not made goes too.
            if choice != nil {
                try? FileManager.default.removeItem(
                    at: vault.url.appendingPathComponent(PostgresChoice.fileName))
                rmdir(vault.url.path)
            }
            throw error
        }
        let meta = try await store.meta()
        if output.json {
            try Terminal.json([
                "vault": vault.url.path, "vaultID": meta.vaultID, "authority": authority.text,
                "fingerprint": identity.fingerprint, "kdf": profile.rawValue,
            ])
        } else {
            Terminal.out(
                "Created the vault at \(vault.url.path) (Argon2id profile: \(profile.rawValue)).")
            Terminal.out("Authority \(authority) fingerprint: \(identity.fingerprint)")
            Terminal.out("Write this fingerprint down and keep it outside the vault.")
            if let policyFile {
                Terminal.out("Applied \(policyFile.source) as policy v1.")
            } else {
                Terminal.out(
                    "No policy yet: nothing can be sealed until one is applied (tutela policy apply)."
                )
            }
        }
    }
}

struct PrincipalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "principal", abstract: "Enrol, revoke and re-key people.",
        subcommands: [
            Add.self, List.self, Activate.self, ChangePassphrase.self, Roles.self, Revoke.self,
            Rekey.self,
        ])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Invite a person to enrol with roles: prints a one-time enrolment code.",
            discussion: """
                No keys and no passphrase are made here: give the printed code to the person (on \
                paper, in person). They run 'tutela principal activate ID' on their own device, \
                make their own keys there and choose a passphrase no one else has known. The code \
                works once, until it expires.
                """)

        @Argument(help: "The new principal's id.") var id: String
        @Option(help: "Their display name.") var name: String
        @Option(
            help:
                "A role: tutor, learner, safeguarding-officer, head-of-centre, record-keeper, admin."
        )
        var role: [String] = []
        @Option(help: "Days the enrolment code works (1–30).")
        var codeDays = EnrolmentCode.defaultLifetimeDays
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            guard !role.isEmpty else { throw TutelaError(.usage, "give at least one --role") }
            let roles = try role.map { try Role.parse($0) }
            let id = try PrincipalID(self.id)
            let session = try await actor.unlock(try await vault.open())
            let code = try await session.administration.invite(
                id, name: name, roles: roles.sorted(), lifetimeDays: codeDays)
            try CodeOutput.show(code, output: output, roles: roles.sorted(), name: name)
        }
    }

    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Activate your enrolment with its code: make your own keys and passphrase.",
            discussion: """
                Run this yourself, with the code an administrator gave you. Your keys are made on \
                this machine and sealed under the passphrase you choose now; no one else ever holds \
                them. The code is read from --code, --code-file, $TUTELA_ENROLMENT_CODE, or a \
                prompt (a prompt or a file keeps it out of the process list and shell history).
                """)
        @Argument(help: "Your principal id, as on the code's paper.") var id: String
        @Option(help: "The enrolment code, as printed.") var code: String?
        @Option(help: "Read the enrolment code from this file.") var codeFile: String?
        @OptionGroup var vault: VaultOptions
        @OptionGroup var newPassphrase: NewPassphraseOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let id = try PrincipalID(self.id)
            let code = try CodeOutput.readCode(given: self.code, file: codeFile, for: id)
            defer { code.wipe() }
            let identity = try await vault.open().activate(
                id, code: code, passphrase: try newPassphrase.passphrase(for: id))
            try output.done(
                "\(id) is active, with keys made here. Fingerprint: \(identity.fingerprint)",
                NewKeysJSON(activated: id, identity))
        }
    }
}

/// Showing a new enrolment code once, and reading one typed back.
enum CodeOutput {
    static func show(
        _ code: EnrolmentCode, output: OutputOptions, roles: [Role]? = nil, name: String? = nil
    ) throws {
        defer { code.text.wipe() }
        // The code goes to stdout straight from protected memory, never through a String. (Its
        // characters are letters, digits and dashes: nothing in it needs escaping in JSON.)
        if output.json {
            Terminal.outSecret(
                before: "{\n  \"enrolmentCode\" : \"", code.text,
                after: "\",\n  \"expires\" : \"\(Timestamp.iso(code.expires))\",\n"
                    + "  \"principal\" : \"\(code.principal.text)\"\n}\n")
            return
        }
        if let roles, let name {
            Terminal.out(
                "Invited \(code.principal) (\(name)) as "
                    + roles.map(\.rawValue).joined(separator: ", ") + ".")
        }
        Terminal.outSecret(
            before: "Enrolment code for \(code.principal): ", code.text, after: "\n")
        Terminal.out(
            "It works once, until \(Timestamp.iso(code.expires)). Give it to \(code.principal) in "
                + "person; it is not shown again. They run: tutela principal activate "
                + code.principal.text)
    }

    static func readCode(
        given: String?, file: String?, for id: PrincipalID, what: String = "Enrolment code"
    ) throws -> SecretBytes {
        func secret(_ text: String) throws -> SecretBytes {
            let utf8 = text.utf8
            return try SecretBytes(count: utf8.count) { $0.copyBytes(from: utf8) }
        }
        if let given { return try secret(given) }
        if let file {
            return try SecretFile.read(file, maximum: 256, what: "enrolment code file")
        }
        if let value = ProcessInfo.processInfo.environment["TUTELA_ENROLMENT_CODE"] {
            return try secret(value)
        }
        guard Terminal.stdinIsTerminal else {
            throw TutelaError(
                .usage, "an enrolment code is needed and there is no terminal to ask for it",
                hint:
                    "pass --code-file FILE (a file only you can read), or set TUTELA_ENROLMENT_CODE"
            )
        }
        return try Terminal.readSecret(prompt: "\(what) for \(id): ")
    }
}

struct LearnerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learner", abstract: "Record learners, their contacts and leavers.",
        subcommands: [
            Add.self, List.self, Contacts.self, Reassign.self, Leave.self, CorrectLeaving.self,
        ])

    struct Contacts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Set who receives the copies a learner agrees to (replaces the previous contacts).")

        @Argument(help: "The learner's id.") var id: String
        @Option(
            help: "A parent or carer (a principal with the parent-carer role); repeat for more.")
        var parent: [String] = []
        @Option(help: "The home school (a principal with the home-school role).") var homeSchool:
            String?
        @Option(help: "The work-based provider (a principal with the work-based-provider role).")
        var provider: String?
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let id = try LearnerID(self.id)
            let contacts = LearnerContacts(
                parents: try parent.map { try PrincipalID($0) },
                homeSchool: try homeSchool.map { try PrincipalID($0) },
                provider: try provider.map { try PrincipalID($0) })
            let session = try await actor.unlock(try await vault.open())
            try await session.administration.setContacts(id, contacts)
            try output.done("Updated the contacts of \(id).", ContactsJSON(id, contacts))
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a learner and their tutor.")

        @Argument(help: "The learner's id.") var id: String
        @Option(help: "The learner's name.") var name: String
        @Option(help: "The assigned tutor's principal id.") var tutor: String
        @Option(help: "Date of birth, YYYY-MM-DD.") var dob: String?
        @Option(help: "Programme, e.g. NEET prevention, Young Apprenticeship, Diploma.")
        var programme: String?
        @Option(help: "The day they enrolled, YYYY-MM-DD; no leaving date may be earlier.")
        var enrolled: String?
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let id = try LearnerID(self.id)
            let tutor = try PrincipalID(self.tutor)
            let dateOfBirth = try dob.map { try parseDate($0, option: "--dob") }
            let enrolment = try enrolled.map { try parseDate($0, option: "--enrolled") }
            let session = try await actor.unlock(try await vault.open())
            try await session.administration.addLearner(
                id, name: name, tutor: tutor, dateOfBirth: dateOfBirth, programme: programme,
                enrolled: enrolment)
            if output.json {
                try Terminal.json(["learner": id.text, "tutor": tutor.text])
            } else {
                Terminal.out("Recorded learner \(id) with tutor \(tutor).")
            }
        }
    }

    struct Leave: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record the date a learner left.")

        @Argument(help: "The learner's id.") var id: String
        @Option(help: "The leaving date, YYYY-MM-DD.") var date: String
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let id = try LearnerID(self.id)
            let leaving = try parseDate(date, option: "--date")
            let session = try await actor.unlock(try await vault.open())
            try await session.administration.learnerLeft(id, on: leaving)
            if output.json {
                try Terminal.json(["learner": id.text, "left": leaving.description])
            } else {
                Terminal.out("Recorded that \(id) left on \(leaving).")
            }
        }
    }

    struct CorrectLeaving: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "correct-leaving",
            abstract: "Correct a leaving date recorded wrongly, with the reason.",
            discussion: """
                A signed statement: the first date stays in the directory's history and the audit \
                log, and retention counts from the corrected date from now on. --not-left \
                withdraws a leaving recorded in error. A leaving date is never before the \
                learner's date of birth or enrolment.
                """)

        @Argument(help: "The learner's id.") var id: String
        @Option(help: "The correct leaving date, YYYY-MM-DD.") var date: String?
        @Flag(help: "The learner has not left after all.") var notLeft = false
        @OptionGroup var reason: ReasonOption
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let id = try LearnerID(self.id)
            guard (date == nil) == notLeft else {
                throw TutelaError(
                    .usage, "give the correct date with --date YYYY-MM-DD or --not-left, not both")
            }
            let corrected = try date.map { try parseDate($0, option: "--date") }
            let why = try reason.required(for: "correct a leaving date")
            let session = try await actor.unlock(try await vault.open())
            try await session.administration.correctLeaving(id, to: corrected, reason: why)
            try output.done(
                corrected.map { "Corrected: \(id) left on \($0)." }
                    ?? "Corrected: \(id) has not left.",
                LeavingCorrectedJSON(id, left: corrected))
        }
    }
}
