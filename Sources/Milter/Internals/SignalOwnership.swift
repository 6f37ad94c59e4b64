#if canImport(Glibc)
internal import Glibc
#endif

/// Keeps libmilter's signal thread away from the signals the process handles itself.
///
/// libmilter starts a thread that calls `sigwait` on SIGHUP, SIGTERM and SIGINT and stops the
/// milter on any of them; SIGHUP (systemd's `ExecReload`, logrotate) would stop a milter that
/// wants to reload. Handlers installed with `sigaction` in the main thread usually win, but not
/// always: Linux passes a process-directed signal to another thread when the main one already
/// has one pending, so a quick burst could still reach libmilter's thread.
///
/// This definition of `sigwait` takes precedence over the C library's for libmilter (the
/// executable's symbol interposes the shared library's reference) and removes the
/// process-owned signals from the set waited for. With the set then empty, libmilter's thread
/// simply sleeps.
///
/// It has to be public for the linker to export it to libmilter; it is not API.
@_cdecl("sigwait")
public func _milterSigwait(_ set: UnsafeRawPointer?, _ signal: UnsafeMutablePointer<Int32>?) -> Int32 {
    guard let set else { return EINVAL }
    var wanted = set.load(as: sigset_t.self)
    for owned in SignalOwnership.owned {
        sigdelset(&wanted, owned)
    }
    while true {
        let received = sigwaitinfo(&wanted, nil)
        if received >= 0 {
            signal?.pointee = received
            return 0
        }
        if errno != EINTR { return errno }
    }
}

enum SignalOwnership {
    /// The signals the process handles itself rather than libmilter.
    static let owned: [Int32] = [SIGHUP, SIGUSR1, SIGTERM, SIGINT]
}
