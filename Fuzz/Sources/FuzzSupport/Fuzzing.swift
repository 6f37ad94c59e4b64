import CFuzzer
#if canImport(Glibc)
import Glibc
#endif

/// Runs libFuzzer on `test`, with the command line's libFuzzer options (`-runs=`,
/// `-max_total_time=`, corpus directories). Call it from a fuzz target's `main.swift`.
///
/// `test` gets each input as raw bytes; it must not crash, and checks its invariants with
/// ``require(_:_:input:)``.
public func fuzz(_ test: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
    target = test
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in LLVMFuzzerTestOneInput(data, size) })
}

/// Stops the run with a message when an invariant does not hold: libFuzzer saves the input as
/// `crash-…` and `scripts/fuzz` reports it.
public func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String, input: some Sequence<UInt8> = [UInt8]()) {
    guard !condition() else { return }
    let bytes = Array(input)
    let shown = bytes.isEmpty ? "" : "\ninput (escaped): " + escaped(bytes)
    let text = Array("invariant failed: \(message())\(shown)\n".utf8)
    _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    abort()
}

/// The bytes with everything but printable ASCII as `\xNN`, for messages.
public func escaped(_ bytes: some Sequence<UInt8>) -> String {
    var out = ""
    for byte in bytes {
        if byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "\\") {
            out.unicodeScalars.append(Unicode.Scalar(byte))
        } else {
            out += "\\x" + (byte < 0x10 ? "0" : "") + String(byte, radix: 16)
        }
    }
    return out
}

/// Checks an `X-Misdirection-Risk` value: only LF TAB folds (no CR, no other control
/// character, so it cannot add a header) and no line over RFC 5322's 998 octets.
public func requireWellFormedHeader(_ value: String, input: some Sequence<UInt8>) {
    let bytes = Array(value.utf8)
    for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == 0x7F {
        let fold = byte == UInt8(ascii: "\n") && index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "\t")
        let tabOfFold = byte == UInt8(ascii: "\t") && index > 0 && bytes[index - 1] == UInt8(ascii: "\n")
        require(fold || tabOfFold, "control character 0x\(String(byte, radix: 16)) in \(escaped(bytes))", input: input)
    }
    let longest = bytes.split(separator: UInt8(ascii: "\n")).map(\.count).max() ?? 0
    require("X-Misdirection-Risk: ".utf8.count + longest <= 998, "a header line of \(longest) octets", input: input)
}

/// The input split at each `\n` (kept out of the pieces): a cheap way to get several fields or
/// several recipients from one input.
public func lines(_ bytes: UnsafeRawBufferPointer, maximum: Int = .max) -> [[UInt8]] {
    Array(bytes.split(separator: UInt8(ascii: "\n"), maxSplits: maximum - 1, omittingEmptySubsequences: false).map(Array.init).prefix(maximum))
}

nonisolated(unsafe) private var target: ((UnsafeRawBufferPointer) -> Void)?

/// The symbol libFuzzer's own `main` and ``fuzz(_:)`` call for each input.
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    target?(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
