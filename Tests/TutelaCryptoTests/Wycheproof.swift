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

/// What happened to each vector of a file, printed so the counts show in the test output.
struct VectorTally {
    let name: String
    var validMatched = 0
    var invalidRejected = 0
    var acceptableAccepted = 0
    var acceptableRejected = 0
    var skipped: [String: Int] = [:]
    var failures: [String] = []

    var total: Int {
        validMatched + invalidRejected + acceptableAccepted + acceptableRejected
            + skipped.values.reduce(0, +) + failures.count
    }

    mutating func record(id: Int, result: String, accepted: Bool) {
        switch (result, accepted) {
        case ("valid", true): validMatched += 1
        case ("invalid", false): invalidRejected += 1
        case ("acceptable", true): acceptableAccepted += 1
        case ("acceptable", false): acceptableRejected += 1
        default: failures.append("tcId \(id) (\(result)) was \(accepted ? "accepted" : "rejected")")
        }
    }

    mutating func skip(reason: String) { skipped[reason, default: 0] += 1 }

    /// Prints the counts and checks that every vector in the file was accounted for.
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
        #expect(total == expectedTotal, "\(name): \(total) of \(expectedTotal) vectors counted")
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
