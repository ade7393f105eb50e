import ArgumentParser
import Foundation
import Tutela
import TutelaCrypto

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The `tutela` command line: thin commands over the Tutela library.
struct TutelaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tutela",
        abstract: "A vault for confidential learner records: sealed tutorials, audited access.",
        version: TutelaVersion.string
    )
}

@main
enum Entry {
    static func main() {
        // Before anything can hold a key: no core files, no ptrace by peers.
        do {
            try ProcessHardening.disableCoreDumps()
        } catch {
            FileHandle.standardError.write(Data("tutela: error: \(error)\n".utf8))
            exit(70)
        }
        TutelaCommand.main()
    }
}
