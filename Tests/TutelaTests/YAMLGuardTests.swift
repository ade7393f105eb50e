import Foundation
import Testing

@testable import Tutela

/// YAML anchors and aliases are refused from the text, before the composer sees them (#18).
@Suite("YAML anchors and aliases")
struct YAMLGuardTests {
    static let refused: [(String, Int)] = [
        ("a: &x [1]\nb: *x\n", 1),
        ("a: 1\nb: *x\n", 2),
        ("- &first one\n- two\n", 1),
        ("- *bold*\n", 1),
        ("{a: *x}\n", 1),
        ("[&a 1, *a]\n", 1),
        ("? *k\n: v\n", 1),
        ("a: !!str &x text\n", 1),
        ("top:\n  inner:\n    - &deep x\n", 3),
        ("--- &doc\na: 1\n", 1),
    ]

    static let accepted: [String] = [
        "course: R&D\n",
        "comments: a *starred* word & more\n",
        "comments: \"*quoted* &text\"\n",
        "comments: '&it''s *fine*'\n",
        "comments: |\n  * a bullet\n  & an ampersand\n\n  *after a blank line*\nnext: 1\n",
        "comments: >\n  *folded*\n",
        "list:\n  - |\n    *inside*\n  - plain\n",
        "a: 1 # &not an anchor\n# *nor this\n",
        "time: 10:30 *\n",
        "[a, b & c]\n",
    ]

    @Test("anchors and aliases wherever a node can begin are found, on the right line")
    func refusedTexts() {
        for (text, line) in Self.refused {
            #expect(YAMLGuard.firstAnchorOrAlias(in: text) == line, "\(text.debugDescription)")
        }
    }

    @Test("& and * in plain text, quotes, comments and block scalars are ordinary characters")
    func acceptedTexts() {
        for text in Self.accepted {
            #expect(YAMLGuard.firstAnchorOrAlias(in: text) == nil, "\(text.debugDescription)")
        }
    }

    @Test("aliases used as mapping keys are refused at once, as a policy and as a form")
    func aliasKeys() async throws {
        // Each level's keys are aliases of the level below: the composer's duplicate-key check
        // compares trees that double at every level.
        var text = "l0: &l0 [x, y]\n"
        for level in 1...12 {
            text += "l\(level): &l\(level) {*l\(level - 1): 1, ? *l\(level - 1) : 2}\n"
        }
        let policy = await expectError(.invalidInput) {
            try Policy.parse(Array(text.utf8), source: "bomb.yaml")
        }
        #expect(policy?.message.contains("bomb.yaml:1: YAML anchors and aliases") == true)
        await expectError(.invalidInput) {
            try ProgressReview.parse(Array(text.utf8), source: "bomb.yaml")
        }
    }

    @Test("the shipped policies and the seed forms hold no anchors or aliases")
    func shipped() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        for name in ["school.yaml", "college.yaml"] {
            let text = try String(
                contentsOf: root.appendingPathComponent("KeyPolicies/\(name)"), encoding: .utf8)
            #expect(YAMLGuard.firstAnchorOrAlias(in: text) == nil, "\(name)")
        }
    }
}
