import Foundation
import Locking

/// Runs a program to its end, without a shell: what `held` does with Postfix's queue tools and
/// the review console with `held`.
package enum ChildProcess {
    package struct Finished {
        package let status: Int32
        package let output: String
        /// Standard error, trimmed.
        package let errors: String
    }

    /// Runs `path` with `arguments` (standard input empty) and waits for it. Standard error is
    /// read beside standard output, so neither pipe fills and blocks the child. Throws only
    /// when the program cannot be started.
    package static func run(_ path: String, _ arguments: [String]) throws -> Finished {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let errorData = LockedValue(Data())
        let errorsRead = DispatchSemaphore(value: 0)
        Thread {
            let data = errors.fileHandleForReading.readDataToEndOfFile()
            errorData.withLock { $0 = data }
            errorsRead.signal()
        }.start()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        errorsRead.wait()
        return Finished(
            status: process.terminationStatus, output: String(decoding: data, as: UTF8.self),
            errors: String(decoding: errorData.withLock { $0 }, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
