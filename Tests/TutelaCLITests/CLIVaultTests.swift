import Foundation
import GRDB
import Testing

/// A vault built through the CLI in a temporary directory: the office (authority), tutors Price and
/// Jones, record keeper Hale, safeguarding officer Dsl, head of centre Head, and learner Sam (tutor
/// Price), with the officers' and the heads' group keys made by Dsl's and Head's first commands.
/// Without `groups`, the vault before its groups exist: no head of centre and no group key.
final class CLIVault {
    let root: URL
    var vault: String { root.appendingPathComponent("vault").path }

    /// Set for every command: a PostgreSQL vault's passwords.
    let environment: [String: String]

    /// - Parameters:
    ///   - store: extra `init` arguments choosing the store (`--store …` for PostgreSQL).
    ///   - environment: set for every command (the store's passwords).
    init(
        people: Bool = true, groups: Bool = true, store: [String] = [],
        environment: [String: String] = [:]
    ) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent(
            "tutela-cli-\(UUID().uuidString)")
        self.environment = environment
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let initResult = try run(
            [
                "init", "--authority", "office", "--name", "Centre office", "--kdf", "interactive",
                "--policy", Self.policyPath("school.yaml"),
            ] + store,
            newPassphrase: "office")
        #expect(initResult.status == 0, "\(initResult.stderr)")
        guard people else { return }
        for (id, role) in [
            ("price", "tutor"), ("jones", "tutor"), ("hale", "record-keeper"),
            ("dsl", "safeguarding-officer"), ("head", "head-of-centre"),
        ] where groups || id != "head" {
            let r = try run(
                ["principal", "add", id, "--name", id.capitalized, "--role", role], as: "office",
                newPassphrase: id)
            #expect(r.status == 0, "\(r.stderr)")
        }
        // Each group's first member's first command makes its key.
        for member in ["dsl", "head"] where groups {
            let r = try run(["group", "list"], as: member)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let r = try run(
            [
                "learner", "add", "sam", "--name", "Sam Taylor", "--tutor", "price", "--dob",
                "2010-03-14",
                "--programme", "Young Apprenticeship",
            ], as: "office")
        #expect(r.status == 0, "\(r.stderr)")
    }

    deinit { try? FileManager.default.removeItem(at: root) }

    static func passphrase(_ who: String) -> String { "cli passphrase for \(who)" }

    /// A shipped policy file in the source tree.
    static func policyPath(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("KeyPolicies/\(name)").path
    }

    /// Runs `tutela` on this vault, as `who` when given.
    func run(
        _ arguments: [String], as who: String? = nil, passphrase: String? = nil,
        newPassphrase: String? = nil, environment extra: [String: String] = [:]
    ) throws -> CLIResult {
        var env = [
            "TUTELA_VAULT": vault, "TUTELA_STATE_DIR": root.appendingPathComponent("state").path,
        ].merging(environment) { $1 }
        var args = arguments
        if let who {
            args += ["--as", who]
            env["TUTELA_PASSPHRASE"] = passphrase ?? Self.passphrase(who)
        }
        if let newPassphrase { env["TUTELA_NEW_PASSPHRASE"] = Self.passphrase(newPassphrase) }
        env.merge(extra) { $1 }
        // `principal add` (or `rekey`) with a new passphrase: the administrator's command prints
        // an enrolment code, and the person then activates it with their own passphrase — the two
        // steps a school takes, run one after the other.
        if let newPassphrase, arguments.count >= 3, arguments[0] == "principal",
            arguments[1] == "add" || (arguments[1] == "rekey" && arguments[2] != who)
        {
            var adminEnv = env
            adminEnv["TUTELA_NEW_PASSPHRASE"] = nil
            let invited = try CLI.run(args + ["--json"], environment: adminEnv, in: root)
            guard invited.status == 0,
                let object = try JSONSerialization.jsonObject(with: Data(invited.stdout.utf8))
                    as? [String: Any],
                let code = object["enrolmentCode"] as? String
            else { return invited }
            env["TUTELA_ENROLMENT_CODE"] = code
            env["TUTELA_PASSPHRASE"] = nil
            _ = newPassphrase
            return try CLI.run(
                ["principal", "activate", arguments[2]], environment: env, in: root)
        }
        return try CLI.run(args, environment: env, in: root)
    }

    /// Writes `text` to a file in this vault's folder; `mode` sets its permissions (secrets: 0o600).
    func write(_ name: String, _ text: String, mode: Int? = nil) throws -> String {
        let url = root.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        if let mode {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
        }
        return url.path
    }

    static func form(marker: String = "steady progress", learner: String = "sam") -> String {
        """
        {"learner": "\(learner)", "date": "2026-11-20", "course": "Level 2 Diploma in Construction",
         "school": "Hereford Academy", "attendance": {"lessons": 40, "absences": 3},
         "punctuality": "good", "onTarget": true, "comments": "\(marker)",
         "targets": [{"target": "Hand in unit 3 portfolio", "byWhen": "2027-01-15"}],
         "copiesTo": ["learner"]}
        """
    }

    /// Seals a form as Price and returns the record id.
    func seal(confidential: Bool = true, marker: String = "steady progress") throws -> String {
        let file = try write("form-\(UUID().uuidString).json", Self.form(marker: marker))
        var args = ["tutorial", "seal", file, "--json"]
        if confidential { args.append("--confidential") }
        let result = try run(args, as: "price")
        #expect(result.status == 0, "\(result.stderr)")
        let object =
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return try #require(object?["record"] as? String)
    }

    func database() throws -> DatabaseQueue {
        try DatabaseQueue(path: root.appendingPathComponent("vault/vault.sqlite").path)
    }

    /// Flips one bit of a BLOB column in the row for `record` (Price's slot, for the slots table).
    func flip(table: String, column: String, record: String, at offset: (Int) -> Int) throws {
        // Envelopes and slots are keyed by their label's row (schema v4).
        let row = "id = (SELECT id FROM labels WHERE record = ?)"
        let filter =
            table == "slots"
            ? "\(row) AND recipient = 'price'" : table == "labels" ? "record = ?" : row
        try database().write { db in
            var blob = try #require(
                try Data.fetchOne(
                    db, sql: "SELECT \(column) FROM \(table) WHERE \(filter)", arguments: [record]))
            blob[offset(blob.count)] ^= 0x01
            try db.execute(
                sql: "UPDATE \(table) SET \(column) = ? WHERE \(filter)", arguments: [blob, record])
        }
    }
}

@Suite("tutela: sealed tutorials end to end")
struct CLIVaultTests {
    @Test("init prints the authority fingerprint; init over a vault is refused with 73")
    func initTwice() throws {
        let v = try CLIVault(people: false)
        let again = try v.run(
            ["init", "--authority", "office", "--name", "Office"], newPassphrase: "office")
        #expect(again.status == 73)
        #expect(again.stderr.contains("tutela: error:"))
        let other = try CLIVault(people: false)
        let json = try other.run(
            [
                "init", "--authority", "x", "--name", "X", "--vault",
                other.root.appendingPathComponent("v2").path,
                "--kdf", "interactive", "--json",
            ], newPassphrase: "x")
        #expect(json.status == 0)
        #expect(json.stdout.contains("\"fingerprint\""))
    }

    @Test("no passphrase and no terminal is a usage error (64) with a hint")
    func noPassphrase() throws {
        let v = try CLIVault(people: false)
        let r = try CLI.run(["records", "list", "--as", "office", "--vault", v.vault])
        #expect(r.status == 64)
        #expect(r.stderr.contains("tutela: hint:"))
    }

    @Test("short passphrases are refused at activation, and the code still works after")
    func shortPassphrase() throws {
        let v = try CLIVault(people: false)
        let env = ["TUTELA_VAULT": v.vault, "TUTELA_PASSPHRASE": CLIVault.passphrase("office")]
        let invited = try CLI.run(
            [
                "principal", "add", "kim", "--name", "Kim", "--role", "tutor", "--as", "office",
                "--json",
            ],
            environment: env)
        #expect(invited.status == 0, "\(invited.stderr)")
        let object =
            try JSONSerialization.jsonObject(with: Data(invited.stdout.utf8)) as? [String: Any]
        let code = try #require(object?["enrolmentCode"] as? String)
        let activate = ["TUTELA_VAULT": v.vault, "TUTELA_ENROLMENT_CODE": code]
        var short = activate
        short["TUTELA_NEW_PASSPHRASE"] = "short"
        let r = try CLI.run(["principal", "activate", "kim"], environment: short)
        #expect(r.status == 64)
        #expect(r.stderr.contains("at least 12"))
        var good = activate
        good["TUTELA_NEW_PASSPHRASE"] = CLIVault.passphrase("kim")
        let ok = try CLI.run(["principal", "activate", "kim"], environment: good)
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("Fingerprint"))
    }

    @Test("principal add takes no passphrase and prints a one-time code; a wrong code is 77")
    func addPrintsCode() throws {
        let v = try CLIVault(people: false)
        let env = ["TUTELA_VAULT": v.vault, "TUTELA_PASSPHRASE": CLIVault.passphrase("office")]
        let invited = try CLI.run(
            ["principal", "add", "kim", "--name", "Kim", "--role", "tutor", "--as", "office"],
            environment: env)
        #expect(invited.status == 0, "\(invited.stderr)")
        #expect(invited.stdout.contains("Enrolment code for kim:"))
        #expect(invited.stdout.contains("tutela principal activate kim"))
        let help = try CLI.run(["principal", "add", "--help"])
        #expect(!help.stdout.contains("new-passphrase"))
        let wrong = try CLI.run(
            ["principal", "activate", "kim"],
            environment: [
                "TUTELA_VAULT": v.vault,
                "TUTELA_ENROLMENT_CODE": "ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-6789",
                "TUTELA_NEW_PASSPHRASE": CLIVault.passphrase("kim"),
            ])
        #expect(wrong.status == 77)
        #expect(wrong.stderr.contains("not the enrolment code"))
    }

    @Test(
        "the author opens; another tutor, the record keeper and the safeguarding officer get 77 and nothing"
    )
    func openAndRefuse() throws {
        let v = try CLIVault()
        let record = try v.seal(marker: "marker-open-refuse")
        let opened = try v.run(["tutorial", "open", record, "--json"], as: "price")
        #expect(opened.status == 0, "\(opened.stderr)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(opened.stdout.utf8)) as? [String: Any])
        #expect(object["record"] as? String == record)
        #expect(object["label"] as? String == "Confidential tutorial – 2026-11-20")
        let form = try #require(object["form"] as? [String: Any])
        #expect(form["comments"] as? String == "marker-open-refuse")
        #expect((form["attendance"] as? [String: Any])?["absences"] as? Int == 3)
        let human = try v.run(["tutorial", "open", record], as: "price")
        #expect(human.stdout.contains("Hand in unit 3 portfolio (by 2027-01-15)"))
        for who in ["jones", "hale", "dsl"] {
            let refused = try v.run(["tutorial", "open", record], as: who)
            #expect(refused.status == 77, "\(who): \(refused.stderr)")
            #expect(refused.stdout.isEmpty)
            #expect(!refused.stderr.contains("marker-open-refuse"))
        }
    }

    @Test("a wrong passphrase is 77; an unknown record 66; an unknown person 66")
    func failures() throws {
        let v = try CLIVault()
        let record = try v.seal()
        let wrong = try v.run(
            ["tutorial", "open", record], as: "price", passphrase: "not my passphrase")
        #expect(wrong.status == 77)
        #expect(wrong.stdout.isEmpty)
        #expect(try v.run(["tutorial", "open", "R-0000-0000-0000"], as: "price").status == 66)
        #expect(try v.run(["records", "list"], as: "nobody").status == 66)
    }

    @Test("records list shows the record keeper labels, never contents")
    func list() throws {
        let v = try CLIVault()
        let record = try v.seal(marker: "secret-words")
        let human = try v.run(["records", "list"], as: "hale")
        #expect(human.status == 0)
        #expect(human.stdout.contains(record))
        #expect(human.stdout.contains("Confidential tutorial – 2026-11-20"))
        #expect(!human.stdout.contains("secret-words"))
        let json = try v.run(["records", "list", "--learner", "sam", "--json"], as: "hale")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let records = try #require(object["records"] as? [[String: Any]])
        #expect(records.count == 1)
        #expect(records.first?["class"] as? String == "confidential-tutorial")
        #expect(records.first?["learner"] as? String == "sam")
        #expect(records.first?["created"] as? String != nil)
    }

    @Test("a malformed form is refused with 65, naming the field, and nothing is stored")
    func malformedForm() throws {
        let v = try CLIVault()
        let bad = try v.write(
            "bad.json",
            #"{"learner": "sam", "date": "2026-11-20", "course": "x", "attendance": {"lessons": 2, "absences": 9}}"#
        )
        let r = try v.run(["tutorial", "seal", bad], as: "price")
        #expect(r.status == 65)
        #expect(r.stderr.contains("attendance.absences"))
        let unknownLearner = try v.write("nobody.json", CLIVault.form(learner: "nobody"))
        let r2 = try v.run(["tutorial", "seal", unknownLearner], as: "price")
        #expect(r2.status == 65)
        #expect(r2.stderr.contains("field 'learner'"))
        let list = try v.run(["records", "list", "--json"], as: "hale")
        #expect(
            list.stdout.contains("\"records\" : [\n\n  ]")
                || list.stdout.contains("\"records\" : []"))
    }

    @Test("a flipped byte in a label, ciphertext, slot or signature is 65 with nothing on stdout")
    func tampering() throws {
        let v = try CLIVault()
        let cases: [(String, String, (Int) -> Int)] = [
            ("labels", "label", { $0 - 4 }),
            ("envelopes", "body", { $0 / 2 }),
            ("slots", "box", { $0 / 2 }),
            ("envelopes", "body", { $0 - 1 }),
        ]
        for (table, column, offset) in cases {
            let record = try v.seal()
            try v.flip(table: table, column: column, record: record, at: offset)
            let r = try v.run(["tutorial", "open", record], as: "price")
            #expect(r.status == 65, "\(table).\(column): \(r.stderr)")
            #expect(r.stdout.isEmpty)
        }
    }

    @Test("two records' envelopes swapped is 65")
    func swapped() throws {
        let v = try CLIVault()
        let a = try v.seal(marker: "first")
        let b = try v.seal(marker: "second")
        try v.database().write { db in
            let row = "id = (SELECT id FROM labels WHERE record = ?)"
            let ea = try Data.fetchOne(
                db, sql: "SELECT body FROM envelopes WHERE \(row)", arguments: [a])
            let eb = try Data.fetchOne(
                db, sql: "SELECT body FROM envelopes WHERE \(row)", arguments: [b])
            try db.execute(sql: "UPDATE envelopes SET body = ? WHERE \(row)", arguments: [eb, a])
            try db.execute(sql: "UPDATE envelopes SET body = ? WHERE \(row)", arguments: [ea, b])
        }
        #expect(try v.run(["tutorial", "open", a], as: "price").status == 65)
        #expect(try v.run(["tutorial", "open", b], as: "price").status == 65)
    }

    @Test("import seals every line with one unlock; a bad line refuses the whole file")
    func importLines() throws {
        let v = try CLIVault()
        let lines = (1...3).map {
            CLIVault.form(marker: "line \($0)").replacingOccurrences(of: "\n", with: " ")
        }
        let good = try v.write("good.jsonl", lines.joined(separator: "\n") + "\n\n")
        let r = try v.run(["import", good, "--confidential", "--json"], as: "price")
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let records = try #require(object["records"] as? [[String: Any]])
        #expect(records.count == 3)
        let bad = try v.write(
            "bad.jsonl", [lines[0], #"{"learner": "sam"}"#, lines[2]].joined(separator: "\n"))
        let refused = try v.run(["import", bad], as: "price")
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("line 2"))
        let list = try v.run(["records", "list", "--json"], as: "hale")
        let all = try #require(
            try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any])
        #expect((all["records"] as? [Any])?.count == 3)
    }

    @Test("a passphrase can come from a file")
    func passphraseFile() throws {
        let v = try CLIVault()
        let file = try v.write("pass.txt", CLIVault.passphrase("hale") + "\n", mode: 0o600)
        let r = try CLI.run([
            "records", "list", "--as", "hale", "--passphrase-file", file, "--vault", v.vault,
        ])
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test("the demo tells the story and exits 0")
    func demo() throws {
        let r = try CLI.run(["demo"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Confidential tutorial – 2026-11-20"))
        #expect(r.stdout.contains("refused (77)"))
        #expect(r.stdout.contains("Refused (77)"))
        #expect(r.stdout.contains("an addendum") || r.stdout.contains("a signed addendum"))

        // The same story as one JSON document: every step, with its lines.
        let json = try CLI.run(["demo", "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let steps = try #require(object["steps"] as? [[String: Any]])
        #expect(steps.count > 8)
        #expect((object["auditEntries"] as? Int ?? 0) > 10)
        #expect(object["kept"] as? Bool == false)
    }
}
