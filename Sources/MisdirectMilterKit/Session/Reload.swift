/// What a reload (SIGHUP, SIGUSR1) may change in place, and what waits for a restart.
package enum Reload {
    /// The engine a reload installs: `new`, except for the settings only a restart applies,
    /// which stay as in `old` (the review mailbox, relay and size: the body stage is negotiated
    /// with the MTA and the notifier made once, at start). Also the keys whose change waits
    /// for a restart, to log.
    package static func keepingRestartOnlySettings(of old: Engine, in new: Engine) -> (engine: Engine, kept: [String]) {
        let kept = restartOnlyChanges(from: old.configuration, to: new.configuration)
        var configuration = new.configuration
        configuration.review = old.configuration.review
        return (Engine(configuration: configuration, classifier: new.classifier, generation: new.generation), kept)
    }

    /// The keys whose new value a reload cannot apply (they are used once, at start).
    package static func restartOnlyChanges(from old: Configuration, to new: Configuration) -> [String] {
        var keys: [String] = []
        if old.socket != new.socket { keys.append("socket") }
        if old.review != new.review { keys.append("review") }
        if old.socketMode != new.socketMode || old.socketGroupID != new.socketGroupID { keys.append("socket_mode/socket_group") }
        if old.logDestination != new.logDestination { keys.append("log_target") }
        if old.metricsListen != new.metricsListen { keys.append("metrics_listen") }
        if old.user != new.user || old.group != new.group { keys.append("user/group") }
        switch (old.history, new.history) {
        case (nil, nil): break
        case let (old?, new?) where !new.needsRestart(from: old): break
        default: keys.append("history")
        }
        return keys
    }
}
