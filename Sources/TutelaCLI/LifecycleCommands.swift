import ArgumentParser
import Foundation
import Tutela

extension PrincipalCommand {
    struct ChangePassphrase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "passphrase",
            abstract: "Change your own passphrase, and your keys with it.",
            discussion: """
                New keys are made here under the new passphrase; your key slots and group copies \
                are re-wrapped to them, and your old key stops counting. Each group you belong \
                to gets a new group key, made here; a member then moves older records to it with \
                'tutela group rewrap ROLE'. Break-glass shares already released to you must be \
                approved again.
                """)
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var newPassphrase: NewPassphraseOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let id = try actor.principal()
            let session = try await actor.unlock(try await vault.open())
            let groups = try await session.lifecycle.changePassphrase(
                to: try newPassphrase.passphrase(for: id))
            if output.json {
                return try Terminal.json(PassphraseChangedJSON(id, newGroupKeys: groups))
            }
            Terminal.out(
                "Changed the passphrase of \(actor.actor), with new keys; the old passphrase and "
                    + "key no longer work.")
            for group in groups {
                Terminal.out(
                    "Made a new \(group.role.rawValue) group key (\(group.holder)). Move older "
                        + "records to it: tutela group rewrap \(group.role.rawValue)")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Revoke a leaver: they can no longer act; their groups' keys are due to be replaced."
        )
        @Argument(help: "The principal to revoke.") var id: String
        @Flag(help: "Go ahead even if some records would be left with no reader.")
        var confirm = false
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let id = try PrincipalID(self.id)
            let session = try await actor.unlock(try await vault.open())
            let due = try await Confirmation.run(confirm) { confirmed in
                try await session.administration.revoke(id, confirmed: confirmed)
            }
            if output.json {
                return try Terminal.json(
                    [
                        "principal": "\(id)", "revoked": true,
                        "groupKeysDue": .list(due.map(\.rawValue)),
                    ] as [String: JSONField])
            }
            Terminal.out(
                "Revoked \(id): they can no longer act, and their direct key slots were removed.")
            GroupCommand.showDue(due, in: session.directory)
        }
    }

    struct Rekey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "New keys for someone who lost their passphrase: prints an enrolment code.",
            discussion: """
                Their current key stops counting at once. They activate new keys with the printed \
                code ('tutela principal activate ID'), as at enrolment; their records are granted \
                to them again at the next command of someone else who can open them, and the \
                group keys at the next command of a member. Each group they held gets a new key from the next \
                remaining member to run a command. The authority re-keys itself by giving its own id (and a \
                new passphrase); a lost authority passphrase is recovered from trustees' shares.
                """)
        @Argument(help: "The principal.") var id: String
        @Option(help: "Days the enrolment code works (1–30).")
        var codeDays = EnrolmentCode.defaultLifetimeDays
        @Flag(help: "Go ahead even if some records would be left with no reader.")
        var confirm = false
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var newPassphrase: NewPassphraseOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try await actor.unlock(try await vault.open())
            let id = session.directory.resolve(try PrincipalID(self.id))
            if id == session.principal.id, session.principal.isAuthority {
                try await session.administration.rekeyAuthority(
                    passphrase: try newPassphrase.passphrase(for: id))
                Terminal.out(
                    "\(id) has new keys, made here. Its fingerprint changed, and trustee share files "
                        + "made before no longer rebuild it: run 'tutela authority split' again.")
                return
            }
            let code = try await Confirmation.run(confirm) { confirmed in
                try await session.administration.reissue(
                    id, lifetimeDays: codeDays, confirmed: confirmed)
            }
            try CodeOutput.show(code, output: output)
            if !output.json {
                GroupCommand.showDue(
                    session.administration.dueGroups(of: id), in: session.directory)
            }
        }
    }
}

extension PrincipalCommand {
    struct Roles: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace someone's roles; leaving a group makes its key due to be replaced.")
        @Argument(help: "The principal.") var id: String
        @Option(help: "A role; repeat for each role they keep or gain.") var role: [String] = []
        @Flag(help: "Go ahead even if some records would be left with no reader.")
        var confirm = false
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let id = try PrincipalID(self.id)
            let roles = try role.map { try Role.parse($0) }
            let session = try await actor.unlock(try await vault.open())
            let due = try await Confirmation.run(confirm) { confirmed in
                try await session.administration.setRoles(id, roles, confirmed: confirmed)
            }
            let names = roles.map(\.rawValue).joined(separator: ", ")
            if output.json {
                return try Terminal.json(RolesSetJSON(id, roles: roles, due: due))
            }
            Terminal.out("\(id) now holds: \(names).")
            GroupCommand.showDue(due, in: session.directory)
        }
    }
}

extension GroupCommand {
    struct Rewrap: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Re-wrap slots and shares sealed to older versions of a group key (resumable).")
        @Argument(help: "The role.") var role: String
        @Option(help: "Slots per transaction.") var batch: Int = 500
        @Flag(
            help:
                "Then give every record the group can open fresh data keys (after a suspected compromise)."
        )
        var reencrypt = false
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let parsed = try Role.parse(role)
            guard (1...10_000).contains(batch) else {
                throw TutelaError(.usage, "--batch must be 1–10000")
            }
            let session = try await actor.unlock(try await vault.open())
            let show = Terminal.stderrIsTerminal && !output.json
            let bar = ProgressBox()
            let summary = try await session.lifecycle.rewrapGroup(parsed, batchSize: batch) {
                done, total in
                bar.update(done, total: total, enabled: show)
            }
            bar.finish()
            var reencrypted = 0
            if reencrypt {
                let bar2 = OpenEndedProgress(enabled: Terminal.stderrIsTerminal && !output.json)
                reencrypted = try await session.lifecycle.reencryptGroup(parsed) { done in
                    bar2.update(done)
                }
                bar2.finish()
            }
            if reencrypt, !output.json {
                Terminal.out("Re-encrypted \(reencrypted) records under fresh keys.")
            }
            if output.json {
                try Terminal.json(summary)
            } else {
                Terminal.out(
                    "Re-wrapped \(summary.slots) slots and \(summary.shares) shares to \(summary.group) in "
                        + String(format: "%.1f s", summary.seconds) + "; retired versions: "
                        + (summary.retiredVersions.isEmpty
                            ? "none"
                            : summary.retiredVersions.map(String.init).joined(separator: ", ")))
            }
        }
    }
}

/// A progress bar made when the first report says how much there is to do.
final class ProgressBox: @unchecked Sendable {
    private let lock = NSLock()
    private var bar: Progress?

    func update(_ done: Int, total: Int, enabled: Bool) {
        lock.withLock {
            if bar == nil { bar = Progress(total: total, enabled: enabled) }
            bar?.update(done)
        }
    }

    func finish() { lock.withLock { bar?.finish() } }
}

/// Progress when the total is not known in advance: count and rate.
final class OpenEndedProgress: @unchecked Sendable {
    let enabled: Bool
    let started = Date()
    private let lock = NSLock()

    init(enabled: Bool) { self.enabled = enabled }

    func update(_ done: Int) {
        guard enabled else { return }
        lock.withLock {
            let rate = Double(done) / max(Date().timeIntervalSince(started), 0.001)
            FileHandle.standardError.write(
                Data(String(format: "\rre-wrapped %d  %.0f/s   ", done, rate).utf8))
        }
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

struct AuthorityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "authority",
        abstract: "Split the authority's keys among trustees, and recover them.",
        subcommands: [Split.self, Recover.self])

    struct Split: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write N trustee share files, any K of which rebuild the authority.")
        @Option(help: "How many trustees.") var shares: Int
        @Option(help: "How many are needed.") var threshold: Int
        @Option(
            name: .customLong("trustee"),
            help: "Who a share is for; repeat once per share, in order (default: trustee 1, 2, …).")
        var trustees: [String] = []
        @Option(help: "A new directory for the share files.") var out: String
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let dir = URL(fileURLWithPath: out)
            guard !FileManager.default.fileExists(atPath: dir.path) else {
                throw TutelaError(.exists, "\(out) exists already", hint: "choose a new directory")
            }
            let session = try await actor.unlock(try await vault.open())
            let parts = try await session.administration.splitAuthority(
                shares: shares, threshold: threshold, trustees: trustees)
            try FileManager.default.createDirectory(
                at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            do {
                for part in parts {
                    let file = dir.appendingPathComponent(
                        "authority-share-\(part.index)-of-\(shares).txt")
                    let bytes = try part.file()
                    defer { bytes.wipe() }
                    try OutputFile.write(file.path, secret: bytes)
                }
            } catch {
                // Some shares without the rest are no use to anyone: none are left behind.
                try? FileManager.default.removeItem(at: dir)
                throw error
            }
            try output.done(
                "Wrote \(shares) share files to \(out); any \(threshold) rebuild the authority. Give each to a "
                    + "different trustee, and delete them here.",
                ["out": "\(out)", "shares": .number(shares), "threshold": .number(threshold)])
        }
    }

    struct Recover: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild the authority from trustee share files, under a new passphrase.")
        @Option(name: .customLong("share"), help: "A share file; repeat for each.") var files:
            [String] = []
        @OptionGroup var vault: VaultOptions
        @OptionGroup var newPassphrase: NewPassphraseOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let shares = try files.map { path -> AuthorityShare in
                let bytes = try SecretFile.read(
                    path, maximum: AuthorityShare.maximumFileBytes, what: "share file")
                defer { bytes.wipe() }
                return try AuthorityShare.parse(file: bytes)
            }
            guard let first = shares.first else {
                throw TutelaError(.usage, "give the share files with --share FILE")
            }
            let identity = try await vault.open().recoverAuthority(
                from: shares, passphrase: try newPassphrase.passphrase(for: first.authority))
            try output.done(
                "Recovered the authority \(first.authority); fingerprint \(identity.fingerprint) (unchanged).",
                ["authority": "\(first.authority)", "fingerprint": "\(identity.fingerprint)"])
        }
    }
}
