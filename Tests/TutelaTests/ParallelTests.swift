import Dispatch
import Synchronization
import Testing

@testable import Tutela

/// Counts how many are alive, to show a failed parallel step destroys what it made.
private final class Tracked: Sendable {
    static let live = Atomic<Int>(0)
    let value: Int

    init(_ value: Int) {
        self.value = value
        Self.live.add(1, ordering: .relaxed)
    }

    deinit { Self.live.subtract(1, ordering: .relaxed) }
}

@Suite("Work on every core", .serialized)
struct ParallelTests {
    @Test("results come back in order, one per item, for any count of items")
    func order() throws {
        for count in [0, 1, 2, 3, 7, 1000, 4097] {
            let results = try Session.inParallel(Array(0..<count)) { i throws(TutelaError) in
                "item \(i)"
            }
            #expect(results == (0..<count).map { "item \($0)" })
            let reversed = try Session.inParallel(Array(0..<count), reversed: true) {
                i throws(TutelaError) in "item \(i)"
            }
            #expect(reversed == (0..<count).reversed().map { "item \($0)" })
        }
    }

    @Test(
        "a failure throws the first error in item order, and every result already made is destroyed"
    )
    func failure() throws {
        #expect(Tracked.live.load(ordering: .relaxed) == 0)
        for reversed in [false, true] {
            do {
                _ = try Session.inParallel(Array(0..<5000), reversed: reversed) {
                    i throws(TutelaError) -> Tracked in
                    if i == 1200 || i == 4100 { throw TutelaError.tampered("item \(i)") }
                    return Tracked(i)
                }
                Issue.record("the failure was not thrown")
            } catch {
                #expect(error.message.contains("item 1200"))
            }
            #expect(Tracked.live.load(ordering: .relaxed) == 0, "results leaked after a failure")
        }
        let kept = try Session.inParallel(Array(0..<5000)) { i throws(TutelaError) in Tracked(i) }
        #expect(kept.map(\.value) == Array(0..<5000))
        #expect(Tracked.live.load(ordering: .relaxed) == 5000)
    }

    @Test(
        "work started on its own thread gives its result or its error, awaited before or after it ends"
    )
    func started() async throws {
        // Finished long before it is awaited.
        let early = Started { 42 }
        try await Task.sleep(for: .milliseconds(50))
        #expect(try await early.value == 42)
        // Still running when it is awaited: it runs while the caller goes on.
        let gate = DispatchSemaphore(value: 0)
        let late = Started { () -> String in
            gate.wait()
            return "saved"
        }
        gate.signal()
        #expect(try await late.value == "saved")
        let failing = Started { () throws -> Int in throw TutelaError.tryAgain("disk full") }
        await #expect(throws: TutelaError.tryAgain("disk full")) { try await failing.value }
    }
}
