import Foundation
import Testing

@testable import TutelaCrypto

/// A Wycheproof test file: the shape every schema shares.
struct WycheproofFile<Group: Decodable>: Decodable {
    let algorithm: String
    let numberOfTests: Int
    let testGroups: [Group]

    static func load(_ name: String) throws -> WycheproofFile {
        let url = try #require(Bundle.module.resourceURL)
            .appendingPathComponent("wycheproof/\(name).json")
        return try JSONDecoder().decode(WycheproofFile.self, from: Data(contentsOf: url))
    }
}

/// What one operation on a vector did.
enum VectorOutcome {
    /// It succeeded and gave exactly the expected output.
    case matched
    /// It threw: the implementation refused the input.
    case threw
    /// It succeeded with some other output (or accepted what it should have refused to compute).
    case mismatched
}

/// What happened to each vector of a file, printed so the counts show in the test output, and
/// asserted exactly as printed.
///
/// A vector counts as rejected only when the operation threw. A valid vector must match; an
/// invalid one must throw; an acceptable one may match or throw. Any other outcome — a wrong
/// result that did not throw, above all — is a failure, never a rejection.
struct VectorTally {
    let name: String
    var validMatched = 0
    var invalidRejected = 0
    var acceptableAccepted = 0
    var acceptableRejected = 0
    var skipped: [String: Int] = [:]
    var failures: [String] = []
    var expected: [String: Int] = [:]

    var total: Int {
        validMatched + invalidRejected + acceptableAccepted + acceptableRejected
            + skipped.values.reduce(0, +) + failures.count
    }

    mutating func record(id: Int, result: String, _ outcome: VectorOutcome) {
        expected[result, default: 0] += 1
        switch (result, outcome) {
        case ("valid", .matched): validMatched += 1
        case ("invalid", .threw): invalidRejected += 1
        case ("acceptable", .matched): acceptableAccepted += 1
        case ("acceptable", .threw): acceptableRejected += 1
        default: failures.append("tcId \(id) (\(result)) \(outcome)")
        }
    }

    mutating func skip(reason: String) { skipped[reason, default: 0] += 1 }

    /// Prints the counts and checks them: every vector accounted for, each in the category its
    /// result asks for.
    func report(expectedTotal: Int) {
        var line =
            "Wycheproof \(name): \(total) vectors: \(validMatched) valid matched, "
            + "\(invalidRejected) invalid rejected"
        if acceptableAccepted + acceptableRejected > 0 {
            line +=
                ", \(acceptableAccepted + acceptableRejected) acceptable "
                + "(\(acceptableAccepted) accepted, \(acceptableRejected) rejected)"
        }
        line += ", \(skipped.values.reduce(0, +)) skipped"
        for (reason, count) in skipped.sorted(by: { $0.key < $1.key }) {
            line += "\n  skipped \(count): \(reason)"
        }
        line += ", \(failures.count) failed"
        print(line)
        #expect(failures.isEmpty, "\(name): \(failures.joined(separator: "; "))")
        #expect(skipped.isEmpty, "\(name): \(skipped) skipped")
        #expect(total == expectedTotal, "\(name): \(total) of \(expectedTotal) vectors counted")
        #expect(validMatched == expected["valid", default: 0], "\(name): valid vectors matched")
        #expect(
            invalidRejected == expected["invalid", default: 0], "\(name): invalid vectors threw")
        #expect(
            acceptableAccepted + acceptableRejected == expected["acceptable", default: 0],
            "\(name): acceptable vectors matched or threw")
        #expect(
            expected.keys.allSatisfy { ["valid", "invalid", "acceptable"].contains($0) },
            "\(name): results \(expected.keys.sorted())")
    }
}

extension Array where Element == UInt8 {
    init(hex: String) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.utf8.count / 2)
        var high: UInt8?
        for c in hex.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            default: continue
            }
            if let h = high {
                bytes.append(h << 4 | v)
                high = nil
            } else {
                high = v
            }
        }
        self = bytes
    }
}

func secret(_ hex: String) throws -> SecretBytes {
    try SecretBytes(copying: [UInt8](hex: hex))
}
