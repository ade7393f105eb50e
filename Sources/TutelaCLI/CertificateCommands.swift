import ArgumentParser
import Foundation
import Tutela

extension RetentionCommand {
    struct Certificates: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the destruction certificates you may see, oldest first, each verified.")

        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let session = try await actor.unlock(try await vault.open())
            let all = try await session.retention.certificates()
            if output.json {
                try Terminal.json(["certificates": all.map(CertifiedJSON.init)])
            } else if all.isEmpty {
                Terminal.out("No destruction certificates you may see.")
            } else {
                Terminal.out(
                    Table.render(
                        header: ["RECORD", "LABEL", "LEARNER", "DESTROYED", "BY", "AGREED WITH"],
                        rows: all.map {
                            [
                                $0.certificate.record.text, $0.label.envelopeText,
                                $0.label.learner.text, Timestamp.iso($0.certificate.time),
                                $0.certificate.authoriser.text,
                                $0.certificate.proposer?.text ?? "",
                            ]
                        }))
                Terminal.out(
                    "\(all.count) certificates, every signature and label verified. "
                        + "Print one: tutela records certificate ID")
            }
        }
    }
}

extension RecordsCommand {
    struct Certificate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a destroyed record's certificate again, verified (65 if tampered).")

        @Argument(help: "The record id.") var record: String
        @OptionGroup var actor: ActorOptions
        @OptionGroup var vault: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let record = try RecordID(self.record)
            let session = try await actor.unlock(try await vault.open())
            let certified = try await session.retention.certificate(record)
            if output.json {
                try Terminal.json(CertifiedJSON(certified))
            } else {
                let lines = certified.text.split(separator: "\n", omittingEmptySubsequences: false)
                Terminal.out(lines.map { Terminal.printable(String($0)) }.joined(separator: "\n"))
            }
        }
    }
}
