import Foundation
import Testing

/// `tutela import` run again (#21 item 3): what was sealed before is skipped and said so.
@Suite("CLI: imports that can be repeated")
struct CLIImportTests {
    @Test("an import run twice seals nothing the second time, and lists what it skipped")
    func twice() throws {
        let v = try CLIVault()
        let lines = ["one", "two", "one"].map {
            CLIVault.form(marker: "import \($0)").replacingOccurrences(of: "\n", with: " ")
        }
        let file = try v.write("forms.jsonl", lines.joined(separator: "\n") + "\n")
        let first = try v.run(["import", file], as: "price")
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("Sealed 2 records"))
        #expect(first.stdout.contains("1 form was sealed before and skipped: line 3 (R-"))
        let second = try v.run(["import", file, "--json"], as: "price")
        #expect(second.status == 0, "\(second.stderr)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(second.stdout.utf8)) as? [String: Any])
        #expect((object["records"] as? [Any])?.isEmpty == true)
        let skipped = try #require(object["skipped"] as? [[String: Any]])
        #expect(skipped.map { $0["line"] as? Int } == [1, 2, 3])
        #expect(skipped[0]["record"] as? String == skipped[2]["record"] as? String)
        #expect(skipped.allSatisfy { $0["destroyed"] as? Bool == false })
        let list = try v.run(["records", "list", "--json"], as: "hale")
        #expect(list.stdout.contains("\"total\" : 2"))
    }
}
