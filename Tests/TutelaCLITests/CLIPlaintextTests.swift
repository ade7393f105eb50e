import Foundation
import Testing

@Suite("no plaintext anywhere")
struct CLIPlaintextTests {
    @Test(
        "a unique marker never reaches the output of a refused command, the vault, or new temp files"
    )
    func markerScan() throws {
        let started = Date().addingTimeInterval(-1)
        let v = try CLIVault()
        let marker = "PLAINTEXT-\(UUID().uuidString)"
        let record = try v.seal(marker: marker)
        let flagged = try v.seal(marker: marker)
        #expect(
            try v.run(["safeguarding", "flag", flagged, "--reason", "ref"], as: "price").status == 0
        )
        let refused: [([String], String, String?)] = [
            (["tutorial", "open", record], "jones", nil),
            (["tutorial", "open", record], "hale", nil),
            (["tutorial", "open", record], "dsl", nil),
            (["tutorial", "open", record], "price", "the wrong passphrase"),
            (["tutorial", "open", record, "--json"], "office", nil),
            (["safeguarding", "open", record, "--reason", "x"], "dsl", nil),
            (["safeguarding", "open", flagged], "dsl", nil),
            (["safeguarding", "open", flagged, "--reason", "x"], "jones", nil),
            (["break-glass", "open", "BG-0000-0000-0000"], "dsl", nil),

            (["records", "destroy", record], "hale", nil),
        ]
        // Commands that succeed for this person but must release nothing of the record.
        for (args, who) in [
            (["records", "export", "--learner", "sam"], "jones"), (["policy", "regrant"], "hale"),
        ] {
            let r = try v.run(args, as: who)
            #expect(
                !r.stdout.contains(marker) && !r.stderr.contains(marker), "\(args) as \(who) leaked"
            )
        }
        var outputs = 0
        for (args, who, pass) in refused {
            let r = try v.run(args, as: who, passphrase: pass)
            #expect(r.status != 0, "\(args) as \(who) succeeded")
            #expect(
                !r.stdout.contains(marker) && !r.stderr.contains(marker), "\(args) as \(who) leaked"
            )
            outputs += 2
        }
        // Tampered: the author opening a record whose ciphertext was changed.
        try v.flip(table: "envelopes", column: "body", record: record) { $0 / 2 }
        let tampered = try v.run(["tutorial", "open", record], as: "price")
        #expect(
            tampered.status == 65 && !tampered.stdout.contains(marker)
                && !tampered.stderr.contains(marker))
        // Files: the vault, this machine's state, and any file written since the test began.
        let needle = Data(marker.utf8)
        var scanned = 0
        var hits: [String] = []
        var controls = Set<String>()
        var seen = Set<String>()
        for base in [
            v.root, FileManager.default.temporaryDirectory, URL(fileURLWithPath: "/var/tmp"),
        ] {
            let walker = FileManager.default.enumerator(
                at: base,
                includingPropertiesForKeys: [.contentModificationDateKey, .isRegularFileKey])
            while let url = walker?.nextObject() as? URL {
                let values = try? url.resourceValues(forKeys: [
                    .contentModificationDateKey, .isRegularFileKey,
                ])
                guard values?.isRegularFile == true else { continue }
                if base != v.root, let modified = values?.contentModificationDate,
                    modified < started
                {
                    continue
                }
                // The test's own form files hold the marker by design; they are the tutor's input.
                guard seen.insert(url.standardizedFileURL.resolvingSymlinksInPath().path).inserted,
                    let data = try? Data(contentsOf: url)
                else { continue }
                if url.lastPathComponent.hasPrefix("form-") {
                    // The control: the scan does find the marker where it really is.
                    if data.range(of: needle) != nil { controls.insert(url.lastPathComponent) }
                    continue
                }
                scanned += 1
                if data.range(of: needle) != nil { hits.append(url.path) }
            }
        }
        #expect(hits.isEmpty, "plaintext found in \(hits)")
        #expect(
            controls.count == 2,
            "the scan must find the marker in the two form files it was sealed from")
        print(
            "Plaintext scan: \(outputs) outputs of \(refused.count + 1) refused commands and \(scanned) files, marker found 0 times"
        )
    }
}
