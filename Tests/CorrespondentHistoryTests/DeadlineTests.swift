import CorrespondentHistory
import Dispatch
import Testing

/// `withDeadline` gives up on a call that does not answer in time, and keeps it in
/// `UnansweredCalls` until it ends, so that a call that never ends is counted and stays
/// reachable (LeakSanitizer would otherwise report it as leaked at exit).
struct DeadlineTests {
    /// Outlives the test: the call that never ends stays reachable through it until exit.
    static let stuck = UnansweredCalls()

    /// Waits up to two seconds for `condition`.
    static func eventually(_ condition: () -> Bool) async -> Bool {
        for _ in 0..<200 {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    @Test("a call that answers in time is not kept")
    func answered() async throws {
        let unanswered = UnansweredCalls()
        let value = try await withDeadline(.seconds(60), unanswered: unanswered) { 42 }
        #expect(value == 42)
        #expect(unanswered.count == 0)
    }

    @Test("a call that never answers is given up on and kept")
    func neverAnswers() async {
        let unanswered = Self.stuck
        await #expect(throws: DeadlineExceeded.self) {
            // Ignores cancellation and is never resumed, as a query postgres-nio never answers.
            try await withDeadline(.milliseconds(50), unanswered: unanswered) {
                await withUnsafeContinuation { (_: UnsafeContinuation<Void, Never>) in }
            }
        }
        #expect(await Self.eventually { unanswered.count == 1 })
    }

    @Test("a call that answers after its deadline is kept until it ends")
    func answersLate() async {
        let unanswered = UnansweredCalls()
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(50), unanswered: unanswered) {
                // Ignores cancellation, ends after half a second.
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { continuation.resume() }
                }
            }
        }
        #expect(await Self.eventually { unanswered.count == 1 }, "given up on but not kept")
        #expect(await Self.eventually { unanswered.count == 0 }, "a call that ended is still kept")
    }
}
