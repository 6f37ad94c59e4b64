import CorrespondentHistory
import Locking
import Testing

/// `withDeadline` gives up on a call that does not answer in time, and keeps it in
/// `UnansweredCalls` until it ends, so that a call that never ends is counted and stays
/// reachable (LeakSanitizer would otherwise report it as leaked at exit).
struct DeadlineTests {
    /// Outlives the test: the call that never ends stays reachable through it until exit.
    static let stuck = UnansweredCalls()

    /// Waits for `condition`, up to a minute (a loaded machine, or a sanitizer, is slow).
    static func eventually(_ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
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
        let late = LateAnswer()
        await #expect(throws: DeadlineExceeded.self) {
            // Ignores cancellation; answers only when the test says so.
            try await withDeadline(.milliseconds(50), unanswered: unanswered) { await late.wait() }
        }
        // However slow the machine, the call has not ended yet: it must be kept.
        #expect(await Self.eventually { unanswered.count == 1 }, "given up on but not kept")
        late.answer()
        #expect(await Self.eventually { unanswered.count == 0 }, "a call that ended is still kept")
    }
}

/// An answer the test gives when it chooses, to a call that ignores cancellation.
final class LateAnswer: Sendable {
    private let state = LockedValue<(answered: Bool, waiting: CheckedContinuation<Void, Never>?)>((false, nil))

    func wait() async {
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.answered { return true }
                state.waiting = continuation
                return false
            }
            if now { continuation.resume() }
        }
    }

    func answer() {
        state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.answered = true
            defer { state.waiting = nil }
            return state.waiting
        }?.resume()
    }
}
