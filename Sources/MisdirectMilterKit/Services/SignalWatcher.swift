import Foundation
import Synchronization

/// Turns SIGHUP, SIGUSR1, SIGTERM and SIGINT into events read by one thread.
///
/// The handlers only write the signal number to a pipe (async-signal-safe); ``next()`` reads it
/// back on an ordinary thread where reloading and stopping can do real work. libmilter's own
/// signal thread never sees these signals (see the Milter library's `SignalOwnership`).
final package class SignalWatcher: Sendable {
    /// Events ``next()`` returns.
    package enum Event: Equatable {
        /// SIGHUP or SIGUSR1: reload the configuration.
        case reload
        /// SIGTERM or SIGINT: stop gracefully.
        case stop
        /// The milter loop ended by itself.
        case loopEnded
    }

    /// The signals watched.
    package static let signals: [Int32] = [SIGHUP, SIGUSR1, SIGTERM, SIGINT]
    private static let loopEndedByte: UInt8 = 0

    private let readEnd: Int32
    private let writeEnd: Int32

    /// Installs the handlers. One watcher per process.
    package init() {
        var fds: [Int32] = [0, 0]
        precondition(pipe(&fds) == 0, "pipe failed")
        readEnd = fds[0]
        writeEnd = fds[1]
        _ = fcntl(writeEnd, F_SETFL, fcntl(writeEnd, F_GETFL) | O_NONBLOCK)
        signalPipe.store(writeEnd, ordering: .sequentiallyConsistent)
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for signal in Self.signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signal in
                var byte = UInt8(truncatingIfNeeded: signal)
                let fd = signalPipe.load(ordering: .relaxed)
                let saved = errno
                _ = write(fd, &byte, 1)
                errno = saved
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
            sigaddset(&unblock, signal)
        }
        // Make sure this thread can receive them, whatever the parent blocked.
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
    }

    /// Blocks until the next event.
    package func next() -> Event {
        var byte: UInt8 = 0
        while true {
            let count = read(readEnd, &byte, 1)
            if count == 1 { break }
            if count < 0 && errno == EINTR { continue }
            return .loopEnded
        }
        switch Int32(byte) {
        case SIGHUP, SIGUSR1: return .reload
        case SIGTERM, SIGINT: return .stop
        default: return .loopEnded
        }
    }

    /// Tells ``next()`` that the milter loop has ended.
    package func notifyLoopEnded() {
        var byte = Self.loopEndedByte
        _ = write(writeEnd, &byte, 1)
    }
}

/// The pipe the signal handlers write to (a handler can only reach globals).
private let signalPipe = Atomic<Int32>(-1)
