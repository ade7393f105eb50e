import ArgumentParser
import Foundation
import Tutela

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Check, apply and explain the access policy.",
        subcommands: [Check.self, Apply.self, Explain.self, Regrant.self])

    static func read(_ path: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TutelaError(.notFound, "cannot read the policy file \(path)")
        }
        return [UInt8](data)
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Validate a policy file and print who can do what to each class, for sign-off.")

        @Argument(help: "The policy file (YAML).") var file: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let policy = try Policy.check(
                PolicyCommand.read(file), source: URL(fileURLWithPath: file).lastPathComponent)
            try output.done(PolicyTable.render(policy), PolicyCheckedJSON(policy))
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Publish a policy file as the vault's next policy version, signed by you.")

        @Argument(help: "The policy file (YAML).") var file: String
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let bytes = try PolicyCommand.read(file)
            let source = URL(fileURLWithPath: file).lastPathComponent
            _ = try Policy.check(bytes, source: source)
            let session = try await actor.unlock(try await vault.open())
            let (policy, changes) = try await session.administration.applyPolicy(
                bytes, source: source)
            if output.json { return try Terminal.json(PolicyAppliedJSON(policy, changes: changes)) }
            Terminal.out("Applied \(source) as policy v\(policy.version) (\(policy.name)).")
            let widen = changes.filter(\.adds)
            let narrow = changes.filter { !$0.surplus.isEmpty }
            if !widen.isEmpty {
                Terminal.out(
                    "\(widen.count) records now have readers without a key slot; someone who can open them "
                        + "runs 'tutela policy regrant'.")
            }
            if !narrow.isEmpty {
                Terminal.out(
                    "\(narrow.count) records have slots for people the policy no longer names (refused by "
                        + "policy already); 'tutela policy regrant' removes them.")
            }
        }
    }

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say whether you may do ACTION to RECORD, and the rule that decides.")

        @Argument(help: "The record id.") var record: String
        @Option(
            help: ArgumentHelp(
                "One of: " + PolicyAction.allCases.map(\.rawValue).joined(separator: ", ")))
        var action: String
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let record = try RecordID(self.record)
            guard let parsed = PolicyAction(rawValue: action) else {
                throw TutelaError(
                    .usage, "'\(action)' is not an action",
                    hint: "actions: "
                        + PolicyAction.allCases.map(\.rawValue).joined(separator: ", "))
            }
            let session = try await actor.unlock(try await vault.open())
            let decision = try await session.explain(record, action: parsed)
            if output.json {
                try Terminal.json(
                    ExplainJSON(
                        record: record, action: parsed, actor: session.principal.id,
                        decision: decision))
            } else {
                Terminal.out("\(decision.allowed ? "ALLOW" : "DENY"): \(decision.rule)")
            }
        }
    }

    struct Regrant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bring key slots in line with the policy, for records you can open.")

        @Option(help: "Only this record.") var record: String?
        @Flag(help: "Only list the grants waiting to be made, and change nothing.")
        var pending = false
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let record = try self.record.map { text throws(TutelaError) in try RecordID(text) }
            let session = try await actor.unlock(try await vault.open(), catchingUp: !pending)
            if pending {
                let waiting = try await session.lifecycle.slotChanges(record: record).filter(\.adds)
                if output.json {
                    try Terminal.json(["pending": waiting.map(\.record.text)])
                } else if waiting.isEmpty {
                    Terminal.out("No grants are waiting.")
                } else {
                    for change in waiting {
                        Terminal.out(
                            "\(change.record): waiting for "
                                + change.additions.joined(separator: ", "))
                    }
                }
                return
            }
            let (done, left) = try await session.lifecycle.regrant(record: record)
            if output.json {
                try Terminal.json([
                    "regranted": done.map(\.record.text), "needOthers": left.map(\.record.text),
                ])
                return
            }
            for change in done {
                let added = change.additions.joined(separator: ", ")
                let removed = change.surplus.map(\.text).joined(separator: ", ")
                Terminal.out(
                    "\(change.record): added \(added.isEmpty ? "none" : added); removed "
                        + (removed.isEmpty ? "none" : removed))
            }
            Terminal.out("Re-granted \(done.count) records.")
            if !left.isEmpty {
                Terminal.out(
                    "\(left.count) records need someone who can open them: "
                        + left.map(\.record.text).joined(separator: ", "))
            }
        }
    }
}

/// "Who can do what to each class", computed by asking the policy's own decision point about
/// representative people, so the table shows exactly what Tutela will enforce.
enum PolicyTable {
    static func render(_ policy: Policy) -> String {
        var blocks: [String] = ["Policy: \(policy.name)"]
        for section in policy.signOffTable() {
            blocks.append("")
            blocks.append(contentsOf: section.title)
            blocks.append(Table.render(header: section.header, rows: section.rows))
        }
        blocks.append("")
        if let recovery = policy.identityRecovery {
            blocks.append(
                "Identity recovery after a lost passphrase: \(recovery.approvals) approvals by "
                    + "distinct people in different roles among "
                    + recovery.approvers.map(\.rawValue).joined(separator: ", ")
                    + " (never the person or the administrator who asks); a request lasts "
                    + "\(recovery.lifetimeHours) hours. They and an administrator together could "
                    + "rebuild anyone's keys; neither can alone.")
        } else {
            blocks.append(
                "Identity recovery: none. A lost passphrase means new keys, and records only that "
                    + "person could open stay closed.")
        }
        blocks.append(tutorials(policy.tutorials))
        blocks.append(
            "yes = allowed; — = refused (deny by default). An explicit deny wins over any allow.")
        return blocks.joined(separator: "\n")
    }

    /// The calendar and cadences, for sign-off.
    static func tutorials(_ rules: TutorialRules) -> String {
        let reviews = rules.cadences.map {
            "\($0.programme) every \($0.every == .term ? "term" : "half-term")"
        }
        let terms = rules.terms.map { term in
            "\(term.name) \(term.starts) to \(term.ends)"
                + (term.halfTerm.map { " (half-term \($0.lowerBound) to \($0.upperBound))" } ?? "")
        }
        return "Tutorials: learners are told \(rules.noticeDays) days ahead; reviews: "
            + reviews.joined(separator: ", ") + ". Calendar: "
            + (terms.isEmpty ? "none (no review falls due)" : terms.joined(separator: "; ")) + "."
    }
}
