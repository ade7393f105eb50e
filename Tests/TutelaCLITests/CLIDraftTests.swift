import Foundation
import Testing

/// `tutorial new` and `note new` (#21 item 1): the template printed, written, or edited and sealed.
@Suite("CLI: writing a tutorial from a template")
struct CLIDraftTests {
    @Test("the template is printed, or written to a private file, and seals once filled in")
    func printedAndWritten() throws {
        let v = try CLIVault()
        let printed = try v.run(["tutorial", "new", "--learner", "sam"], as: "price")
        #expect(printed.status == 0, "\(printed.stderr)")
        #expect(printed.stdout.contains("learner: \"sam\""))
        #expect(printed.stdout.contains("course: \"Young Apprenticeship\""))
        #expect(printed.stdout.contains("formTutor: \"Price\""))
        #expect(printed.stdout.contains("--confidential"))

        let file = v.root.appendingPathComponent("review.yaml").path
        let written = try v.run(
            ["tutorial", "new", "--learner", "sam", "--out", file], as: "price")
        #expect(written.status == 0, "\(written.stderr)")
        #expect(written.stdout.contains("tutela tutorial seal \(file)"))
        let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(
            try v.run(["tutorial", "new", "--learner", "sam", "--out", file], as: "price").status
                == 73)
        var text = try String(contentsOfFile: file, encoding: .utf8)
        text = text.replacingOccurrences(of: "\ncomments:", with: "\ncomments: settled in well #")
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        let sealed = try v.run(["tutorial", "seal", file], as: "price")
        #expect(sealed.status == 0, "\(sealed.stderr)")
        let opened = try v.run(
            ["tutorial", "open", sealed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)],
            as: "price")
        #expect(opened.stdout.contains("settled in well"))

        let unknown = try v.run(["tutorial", "new", "--learner", "nobody"], as: "price")
        #expect(unknown.status == 66 && unknown.stderr.contains("learner list"))
        let help = try CLI.run(["tutorial", "seal", "--help"])
        #expect(help.stdout.contains("attendance.absences") && help.stdout.contains("copiesTo"))
    }

    @Test("in the editor: sealed when saved, nothing when unchanged or abandoned, draft wiped")
    func editor() throws {
        let v = try CLIVault()
        let seen = v.root.appendingPathComponent("draft-path").path
        let script = try v.write(
            "fill.sh",
            """
            printf '%s' "$1" > '\(seen)'
            sed -i 's/^comments:/comments: written in the editor #/' "$1"
            """)
        let sealed = try v.run(
            ["tutorial", "new", "--learner", "sam", "--edit", "--confidential", "--json"],
            as: "price", environment: ["EDITOR": "sh \(script)", "VISUAL": ""])
        #expect(sealed.status == 0, "\(sealed.stderr)")
        #expect(sealed.stdout.contains("confidential-tutorial"))
        let draft = try String(contentsOfFile: seen, encoding: .utf8)
        #expect(draft.hasPrefix("/dev/shm/") || draft.hasPrefix("/run/"))
        #expect(!FileManager.default.fileExists(atPath: draft))
        #expect(
            !FileManager.default.fileExists(
                atPath: URL(fileURLWithPath: draft).deletingLastPathComponent().path))

        let unchanged = try v.run(
            ["tutorial", "new", "--learner", "sam", "--edit"], as: "price",
            environment: ["EDITOR": "true"])
        #expect(unchanged.status == 64 && unchanged.stderr.contains("not changed"))
        let failed = try v.run(
            ["note", "new", "--learner", "sam", "--edit"], as: "price",
            environment: ["EDITOR": "false"])
        #expect(failed.status == 64 && failed.stderr.contains("nothing was sealed"))
        let bad = try v.write(
            "bad.sh",
            "sed -i 's/^lessons:/  lessons: many/; s/^  lessons:/  lessons: many #/' \"$1\"")
        let invalid = try v.run(
            ["tutorial", "new", "--learner", "sam", "--edit"], as: "price",
            environment: ["EDITOR": "sh \(bad)"])
        #expect(invalid.status == 65 && invalid.stderr.contains("attendance.lessons"))
        let list = try v.run(["records", "list", "--json"], as: "price")
        #expect(list.stdout.contains("\"total\" : 1"))
        let noEditor = try v.run(
            ["tutorial", "new", "--learner", "sam", "--edit"], as: "price",
            environment: ["EDITOR": "", "VISUAL": ""])
        #expect(noEditor.status == 64 && noEditor.stderr.contains("$EDITOR"))
    }
}
