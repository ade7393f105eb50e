import Foundation
import GRDB
import Testing

@Suite("tutela: no record sealed without its break-glass shares")
struct CLIStrictSealTests {
    /// How many break-glass shares the vault's database holds (for `record`, or all).
    func shares(_ v: CLIVault, record: String? = nil) throws -> Int {
        try v.database().read { db in
            try Int.fetchOne(
                db,
                sql: "SELECT COUNT(*) FROM shares"
                    + (record == nil ? "" : " WHERE id = (SELECT id FROM labels WHERE record = ?)"),
                arguments: StatementArguments(record.map { [$0] } ?? [])) ?? -1
        }
    }

    /// The records `hale` sees listed.
    func listed(_ v: CLIVault) throws -> Int {
        let list = try v.run(["records", "list", "--json"], as: "hale")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [String: Any])
        return try #require(object["records"] as? [Any]).count
    }

    @Test(
        "seal and import with no head of centre exit 77 naming what is missing; the groups' members then let them"
    )
    func refusedUntilGroupsExist() throws {
        let v = try CLIVault(groups: false)
        let marker = "strict-seal-\(UUID().uuidString)"
        let form = try v.write("form.json", CLIVault.form(marker: marker))
        // Two different forms (the same one twice would be sealed once).
        let lines = ["a", "b"].map {
            CLIVault.form(marker: "\(marker) \($0)").replacingOccurrences(of: "\n", with: " ")
        }
        let forms = try v.write("forms.jsonl", lines.joined(separator: "\n") + "\n")
        for args in [["tutorial", "seal", form], ["import", forms, "--confidential"]] {
            let refused = try v.run(args, as: "price")
            #expect(refused.status == 77, "\(args): \(refused.stderr)")
            #expect(refused.stderr.contains("no head-of-centre is enrolled"), "\(refused.stderr)")
            #expect(refused.stderr.contains("safeguarding-officer group has no key yet"))
            #expect(refused.stdout.isEmpty && !refused.stderr.contains(marker))
        }
        #expect(try listed(v) == 0 && shares(v) == 0)
        // The head is enrolled and makes the heads' key; the officers' group still has none.
        let added = try v.run(
            ["principal", "add", "head", "--name", "Head", "--role", "head-of-centre"],
            as: "office", newPassphrase: "head")
        #expect(added.status == 0, "\(added.stderr)")
        let made = try v.run(["group", "create", "head-of-centre"], as: "head")
        #expect(made.status == 0, "\(made.stderr)")
        let still = try v.run(["tutorial", "seal", form], as: "price")
        #expect(still.status == 77 && !still.stderr.contains("head-of-centre group"))
        #expect(still.stderr.contains("safeguarding-officer group has no key yet"))
        // The officer's first command, whatever it is, makes theirs: both now work, with shares.
        let dsl = try v.run(["inbox"], as: "dsl")
        #expect(dsl.stderr.contains("Made the safeguarding-officer group's first key"))
        let record = try v.seal(marker: marker)
        #expect(try shares(v, record: record) == 2)
        let imported = try v.run(["import", forms, "--confidential"], as: "price")
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(try listed(v) == 3 && shares(v) == 6)
    }
}
