import ArgumentParser
import Foundation
import Tutela
import TutelaCrypto

/// The `tutela` command line: thin commands over the Tutela library.
struct TutelaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tutela",
        abstract: "A vault for confidential learner records: sealed tutorials, audited access.",
        discussion: """
            Exit codes: 0 ok, 64 usage, 65 data or integrity error, 66 not found, 73 already \
            exists, 75 try again, 77 permission denied, 70 internal.
            """,
        version: TutelaVersion.string,
        subcommands: [
            InitCommand.self, MigrateCommand.self, PrincipalCommand.self, LearnerCommand.self,
            TutorialCommand.self, PlanCommand.self, CadenceCommand.self, ILRCommand.self,
            NoteCommand.self, RecordsCommand.self, ImportCommand.self, SafeguardingCommand.self,
            BreakGlassCommand.self, InboxCommand.self, GroupCommand.self, RetentionCommand.self,
            BackupCommand.self, AuthorityCommand.self, RecoveryCommand.self, PolicyCommand.self,
            AuditCommand.self, DemoCommand.self, ServeCommand.self,
        ]
    )
}

@main
enum Entry {
    static func main() async {
        // Before anything can hold a key: no core files, no ptrace by peers.
        do {
            try ProcessHardening.disableCoreDumps()
        } catch {
            Terminal.error(TutelaError(.internal, "\(error)"))
            exit(70)
        }
        do {
            var command = try TutelaCommand.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as TutelaError {
            Terminal.error(error, json: wantsJSON)
            exit(error.kind.exitCode)
        } catch {
            // --help and --version print as they always do. A word the parser refused (a misspelt
            // option, a missing argument) is a usage error (64), in JSON too when JSON was asked
            // for, without the word itself: it may be a code typed in the wrong place. Anything
            // else is a fault inside Tutela (70).
            let code = TutelaCommand.exitCode(for: error)
            guard code != .success else { TutelaCommand.exit(withError: error) }
            guard code.rawValue == 64 else {
                Terminal.error(TutelaError(.internal, "\(error)"), json: wantsJSON)
                exit(70)
            }
            if wantsJSON {
                Terminal.note("tutela: error: " + TutelaCommand.message(for: error))
                try? Terminal.json([
                    "error": Terminal.ErrorJSON(
                        code: TutelaError.Kind.usage.code,
                        message: "the command line is not valid (the word is named on stderr)",
                        hint: "see --help")
                ])
                exit(64)
            }
            TutelaCommand.exit(withError: error)
        }
    }

    /// Whether `--json` was given (before any `--`): then errors are JSON on stdout too.
    static var wantsJSON: Bool {
        CommandLine.arguments.dropFirst().prefix { $0 != "--" }.contains("--json")
    }
}
