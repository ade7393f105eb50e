import ArgumentParser
import Foundation
import Tutela
import TutelaCrypto
import TutelaSQLite

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a vault and its authority identity.")

    @OptionGroup var vault: VaultOptions
    @Option(help: "The authority's principal id.") var authority: String
    @Option(help: "The authority's display name.") var name: String
    @Option(help: "Argon2id cost: interactive, moderate or sensitive.")
    var kdf: String = PasswordKDF.Profile.moderate.rawValue
    @Option(help: "A policy file to apply as version 1 (e.g. KeyPolicies/school.yaml).") var policy:
        String?
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
        let passphrase = try newPassphrase.passphrase(for: authority)
        let store = try vault.store(create: true)
        let identity = try await Vault.create(
            store: store, authorityID: authority, authorityName: name, passphrase: passphrase,
            kdf: profile, pins: VaultOptions.pins, policy: policyFile)
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
        subcommands: [Add.self, ChangePassphrase.self, Roles.self, Revoke.self, Rekey.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enrol a person with roles and a new identity sealed under their passphrase.")

        @Argument(help: "The new principal's id.") var id: String
        @Option(help: "Their display name.") var name: String
        @Option(
            help:
                "A role: tutor, learner, safeguarding-officer, head-of-centre, record-keeper, admin."
        )
        var role: [String] = []
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var newPassphrase: NewPassphraseOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            guard !role.isEmpty else { throw TutelaError(.usage, "give at least one --role") }
            let roles = try role.map { try Role.parse($0) }
            let id = try PrincipalID(self.id)
            let session = try await actor.unlock(try vault.open())
            let passphrase = try newPassphrase.passphrase(for: id)
            let principal = try await session.administration.enrol(
                id, name: name, roles: roles, passphrase: passphrase)
            if output.json {
                try Terminal.json(
                    PrincipalJSON(
                        principal: principal.id.text, name: principal.name,
                        roles: principal.roles.map(\.rawValue),
                        fingerprint: principal.identity.fingerprint))
            } else {
                Terminal.out(
                    "Enrolled \(principal.id) (\(principal.name)) as "
                        + principal.roles.map(\.rawValue).joined(separator: ", ") + ".")
                Terminal.out("Fingerprint: \(principal.identity.fingerprint)")
            }
        }
    }

    struct PrincipalJSON: Encodable {
        let principal: String
        let name: String
        let roles: [String]
        let fingerprint: String
    }
}

struct LearnerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learner", abstract: "Record learners, their contacts and leavers.",
        subcommands: [Add.self, Contacts.self, Leave.self])

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

        func run() async throws {
            let id = try LearnerID(self.id)
            let contacts = LearnerContacts(
                parents: try parent.map { try PrincipalID($0) },
                homeSchool: try homeSchool.map { try PrincipalID($0) },
                provider: try provider.map { try PrincipalID($0) })
            let session = try await actor.unlock(try vault.open())
            try await session.administration.setContacts(id, contacts)
            Terminal.out("Updated the contacts of \(id).")
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
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let id = try LearnerID(self.id)
            let tutor = try PrincipalID(self.tutor)
            let dateOfBirth = try dob.map { try parseDate($0, option: "--dob") }
            let session = try await actor.unlock(try vault.open())
            try await session.administration.addLearner(
                id, name: name, tutor: tutor, dateOfBirth: dateOfBirth, programme: programme)
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
            let session = try await actor.unlock(try vault.open())
            try await session.administration.learnerLeft(id, on: leaving)
            if output.json {
                try Terminal.json(["learner": id.text, "left": leaving.description])
            } else {
                Terminal.out("Recorded that \(id) left on \(leaving).")
            }
        }
    }
}
