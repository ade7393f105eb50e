import Foundation
import Testing

@testable import Tutela

@Suite("Fuzz corpora as regression tests")
struct FuzzCorpusTests {
    static var corpus: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz")
    }

    @Test(
        "every seed and every crash found parses or is refused, without crashing",
        arguments: FuzzEntry.targets)
    func replay(target: String) throws {
        let dir = Self.corpus.appendingPathComponent(target)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(!files.isEmpty, "no seeds for \(target)")
        var parsed = 0
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent(file)))
            if FuzzEntry.run(target, bytes) { parsed += 1 }
            // Truncations and single-byte changes of every seed are refused or parse, never crash.
            for cut in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 16)) {
                FuzzEntry.run(target, Array(bytes.prefix(cut)))
                var flipped = bytes
                flipped[cut] ^= 0x80
                FuzzEntry.run(target, flipped)
            }
        }
        #expect(parsed > 0, "no seed of \(target) parses: the corpus is stale")
    }
}
