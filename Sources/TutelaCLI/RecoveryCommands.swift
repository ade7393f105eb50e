import ArgumentParser
import Foundation
import Tutela

struct RecoveryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recovery",
        abstract: "Recover someone's keys after a lost passphrase, by the quorum the policy names.",
        discussion: """
            Everyone's keys are kept in escrow at their own next command: one half of the key \
            with the groups the policy's 'identity-recovery:' section names (by default the heads \
            of centre and the safeguarding officers), the other with the administrators. After a \
            lost passphrase: an administrator runs 'recovery request' and gives \
            the printed code to the person; approvers in different roles each run 'recovery \
            approve'; the person runs 'recovery finish' with the code and chooses a new \
            passphrase, and gets new keys. Nothing they could read is lost. Each step is audited \
            and the person is told; a request they did not expect is a reason to tell the DSL.
            """,
        subcommands: [Request.self, List.self, Approve.self, Cancel.self, Finish.self])

    struct Request: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask to recover someone's keys (administrators): prints a one-time code.")
        @Argument(help: "The person who lost their passphrase.") var id: String
        @Option(help: "Why, as the log will show it (for example how they asked).") var reason:
            String
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try await actor.unlock(try await vault.open())
            let (request, code) = try await session.identityRecovery.request(
                try PrincipalID(self.id), reason: reason)
            // Named as recorded, whatever case it was typed in.
            let id = request.principal
            try await session.settle()
            if output.json {
                // Straight from protected memory, as an enrolment code is; ids and dates need no
                // escaping.
                Terminal.outSecret(
                    before: "{\n  \"expires\" : \"\(Timestamp.iso(request.expires))\",\n"
                        + "  \"principal\" : \"\(id.text)\",\n  \"recoveryCode\" : \"",
                    code.text,
                    after: "\",\n  \"request\" : \"\(request.id.text)\"\n}\n")
                code.text.wipe()
                return
            }
            Terminal.out(
                "Asked to recover the keys of \(id) as \(request.id); \(request.approvalsNeeded) "
                    + "approvers in different roles must approve it before "
                    + Timestamp.iso(request.expires) + ".")
            Terminal.outSecret(before: "Recovery code for \(id): ", code.text, after: "\n")
            code.text.wipe()
            Terminal.out(
                "Give it to \(id) in person; it is not shown again. Approvers run: tutela recovery "
                    + "approve \(request.id). Then \(id) runs: tutela recovery finish \(id)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Open recovery requests you may approve, or that are about you.")
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try await actor.unlock(try await vault.open())
            let requests = try await session.identityRecovery.requests()
            if output.json {
                return try Terminal.json(["requests": requests.map(RecoveryRequestJSON.init)])
            }
            if requests.isEmpty { Terminal.out("No open recovery requests.") }
            for r in requests {
                Terminal.out(
                    "\(r.id)  for \(r.principal)  asked by \(r.requester)  until "
                        + "\(Timestamp.iso(r.expires))  needs \(r.approvalsNeeded)  "
                        + "reason: \(Terminal.printable(r.reason))")
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Release your group's share of someone's keys to their recovery code.",
            discussion: """
                Approve only when you are sure the person asked: check with them yourself, not \
                through the administrator who made the request.
                """)
        @Argument(help: "The request id (IR-…).") var request: String
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let id = try RequestID(request)
            let session = try await actor.unlock(try await vault.open())
            let (have, need) = try await session.identityRecovery.approve(id)
            try await session.settle()
            try output.done(
                "Approved \(id): \(have) of \(need) approvals"
                    + (have >= need ? "; the person can now finish it." : "."),
                RecoveryApprovedJSON(id, approvals: have, needed: need))
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Close a recovery request: yours, if you did not ask for it, or as an administrator."
        )
        @Argument(help: "The request id (IR-…).") var request: String
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let id = try RequestID(request)
            let (session, passphrase) = try await actor.unlockKeepingPassphrase(
                try await vault.open())
            // The person's own cancellation replaces their keys when shares were released.
            try await session.identityRecovery.cancel(id, renewingKeysUnder: passphrase)
            try await session.settle()
            try output.done(
                "Cancelled \(id). Shares already released to its code rebuild only keys that are "
                    + "replaced: at once when you cancel your own, else at the person's next command.",
                RecoveryCancelledJSON(id))
        }
    }

    struct Finish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Finish your recovery with its code: choose a new passphrase, get new keys.",
            discussion: """
                Run this yourself with the code your administrator gave you. The approved shares \
                rebuild your keys on this machine only; you choose a new passphrase, and new keys \
                replace the rebuilt ones at once. The code is read from --code, \
                --code-file, $TUTELA_ENROLMENT_CODE, or a prompt.
                """)
        @Argument(help: "Your principal id.") var id: String
        @Option(help: "The recovery code, as printed.") var code: String?
        @Option(help: "Read the recovery code from this file.") var codeFile: String?
        @OptionGroup var vault: VaultOptions
        @OptionGroup var newPassphrase: NewPassphraseOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let id = try PrincipalID(self.id)
            let code = try CodeOutput.readCode(
                given: self.code, file: codeFile, for: id, what: "Recovery code")
            defer { code.wipe() }
            let identity = try await vault.open().recoverIdentity(
                id, code: code, passphrase: try newPassphrase.passphrase(for: id))
            try output.done(
                "\(id) is recovered, with new keys made here. Fingerprint: \(identity.fingerprint)",
                NewKeysJSON(recovered: id, identity))
        }
    }
}
