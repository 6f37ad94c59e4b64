import Locking

/// The current engine, swapped whole on reload. Sessions take the engine current when their
/// connection starts and keep it, so connections in flight finish on the policy they began with.
final package class EngineStore: Sendable {
    private let engine: LockedValue<Engine>

    package init(_ engine: Engine) {
        self.engine = LockedValue(engine)
    }

    package var current: Engine { engine.withLock { $0 } }

    package func replace(with new: Engine) {
        engine.withLock { $0 = new }
    }
}
