import Foundation
import Tutela

// tutela-fuzz: libFuzzer targets for Tutela's parsers.
//
// Built with `--sanitize=fuzzer -Xswiftc -DFUZZING`, this is a libFuzzer binary; the target comes from
// $TUTELA_FUZZ (envelope, form, policy, audit, checkpoint, share). Built normally, it replays files:
// `tutela-fuzz TARGET FILE...`, and `tutela-fuzz --write-seeds DIR` writes seed corpora made by a real
// vault. See docs/FUZZING.md.

#if FUZZING
    nonisolated(unsafe) private var fuzzTarget: String =
        ProcessInfo.processInfo.environment["TUTELA_FUZZ"] ?? "form"

    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
        FuzzEntry.run(fuzzTarget, Array(UnsafeBufferPointer(start: data, count: size)))
        return 0
    }
#else
    @main
    enum FuzzReplay {
        static func main() async {
            let args = Array(CommandLine.arguments.dropFirst())
            do {
                if args.first == "--write-seeds", args.count == 3 {
                    try await writeSeeds(to: URL(fileURLWithPath: args[1]), policy: args[2])
                    return
                }
                guard let target = args.first, FuzzEntry.targets.contains(target), args.count >= 2
                else {
                    FileHandle.standardError.write(
                        Data("usage: tutela-fuzz TARGET FILE... | --write-seeds DIR POLICY\n".utf8))
                    exit(64)
                }
                for path in args.dropFirst() {
                    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
                    print("\(path): \(FuzzEntry.run(target, bytes) ? "parsed" : "refused")")
                }
            } catch {
                FileHandle.standardError.write(Data("tutela-fuzz: error: \(error)\n".utf8))
                exit(70)
            }
        }

        /// Seeds from a real vault: envelopes, audit entries, a checkpoint, an authority share, a form
        /// and the policy.
        static func writeSeeds(to dir: URL, policy path: String) async throws {
            let policy = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let store = MemoryVaultStore()
            let officeID = try PrincipalID("office")
            let priceID = try PrincipalID("price")
            let pass = try Passphrase("fuzz seed passphrase")
            try await Vault.create(
                store: store, authorityID: officeID, authorityName: "Office", passphrase: pass,
                kdf: .interactive,
                policy: (policy, "school.yaml"))
            let vault = Vault(store: store)
            let office = try await vault.unlock(officeID, passphrase: pass)
            let code = try await office.administration.invite(
                priceID, name: "Price", roles: [.tutor])
            try await vault.activate(priceID, code: code.text, passphrase: pass)
            // The shipped policy seals every record's break-glass shares to these two groups.
            for (id, role) in [("head", Role.headOfCentre), ("dsl", Role.safeguardingOfficer)] {
                let person = try PrincipalID(id)
                let invited = try await office.administration.invite(
                    person, name: id, roles: [role])
                try await vault.activate(person, code: invited.text, passphrase: pass)
                _ = try await vault.unlock(person, passphrase: pass).lifecycle.catchUpGroups()
            }
            try await office.administration.addLearner(
                try LearnerID("L-1"), name: "Learner", tutor: priceID, dateOfBirth: nil,
                programme: nil)
            let price = try await vault.unlock(priceID, passphrase: pass)
            let form =
                #"{"learner": "L-1", "date": "2026-11-20", "course": "Maths", "comments": "seed", "attendance": {"lessons": 4, "absences": 1}, "targets": [{"target": "t", "byWhen": "2027-01-01"}], "copiesTo": ["learner"]}"#
            let review = try ProgressReview.parse(Array(form.utf8), source: "seed")
            for confidential in [false, true] {
                let label = try await price.seal(review, confidential: confidential)
                if let stored = await store.record(label.record) {
                    try write(
                        stored.envelopeBytes, dir, "envelope",
                        confidential ? "confidential" : "tutorial")
                }
            }
            for link in try await store.links(.audit).prefix(6) {
                try write(link.body, dir, "audit", "entry-\(link.sequence)")
            }
            let checkpoint = try await office.checkpoint()
            try write(Array(checkpoint.text.utf8), dir, "checkpoint", "checkpoint.txt")
            let shares = try await office.administration.splitAuthority(shares: 2, threshold: 2)
            try write(try shares[0].file().unprotectedCopy(), dir, "share", "share-1.txt")
            try write(Array(form.utf8), dir, "form", "form.json")
            try write(
                Array("learner: L-1\ndate: \"2026-11-20\"\ncourse: Maths\n".utf8), dir, "form",
                "form.yaml")
            try write(policy, dir, "policy", "school.yaml")
        }

        static func write(_ bytes: [UInt8], _ dir: URL, _ target: String, _ name: String) throws {
            let folder = dir.appendingPathComponent(target)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(bytes).write(to: folder.appendingPathComponent(name))
        }
    }
#endif
