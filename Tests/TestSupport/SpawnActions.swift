import Foundation

/// What a child started with a bare `posix_spawn` must not keep from the test process.
///
/// The suites run in parallel in one process. Foundation's `Process` opens the pipes it hands
/// its child, and the socket by which it learns that the child exited, without close-on-exec,
/// and they stay open in the test process until that child has started. A child spawned by
/// another test in that moment inherits them, and if it lives on (the server `pg_ctl start`
/// leaves running, a milter) the `Process` waits for its end instead of its own child's: the
/// pipes never reach their end, and the exit is never reported.
public enum SpawnActions {
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34), which Swift's Glibc module
    /// leaves out: its header declares it only under `_GNU_SOURCE`.
    private static let addCloseFrom: AddCloseFrom? = dlsym(dlopen(nil, RTLD_NOW), "posix_spawn_file_actions_addclosefrom_np")
        .map { unsafeBitCast($0, to: AddCloseFrom.self) }

    /// Adds to `actions`, after what they already do, the closing of every descriptor above
    /// standard error in the child.
    public static func closeInherited(_ actions: inout posix_spawn_file_actions_t) throws {
        guard let addCloseFrom else {
            throw TestSupportFailure(description: "posix_spawn_file_actions_addclosefrom_np is missing (glibc 2.34 or later needed)")
        }
        let result = addCloseFrom(&actions, STDERR_FILENO + 1)
        guard result == 0 else {
            throw TestSupportFailure(description: "posix_spawn_file_actions_addclosefrom_np: \(String(cString: strerror(result)))")
        }
    }
}
