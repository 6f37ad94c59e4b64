/// A recipient domain's lower-case bytes with what every lookup in the index needs, made once
/// on the stack: the prefix hashes of its ranges and where its labels start.
struct DomainBytes {
    /// Most labels looked at in one recipient domain; longer ones are cut short.
    static let maximumLabels = 32

    let bytes: UnsafeBufferPointer<UInt8>
    let hasher: RangeHasher
    /// `starts[i]` is where label `i` starts; `starts[labelCount]` is `bytes.count + 1`.
    let starts: UnsafeMutableBufferPointer<Int>
    let labelCount: Int

    var count: Int { bytes.count }

    /// Calls `body` with the domain's bytes made ready for lookups.
    @inline(__always)
    static func with<R>(_ bytes: UnsafeBufferPointer<UInt8>, _ body: (DomainBytes) -> R) -> R {
        RangeHasher.with(bytes) { hasher in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: maximumLabels + 1) { starts in
                var labelCount = 1
                starts[0] = 0
                for index in 0..<bytes.count where bytes[index] == UInt8(ascii: ".") && labelCount < maximumLabels {
                    starts[labelCount] = index + 1
                    labelCount += 1
                }
                starts[labelCount] = bytes.count + 1
                return body(DomainBytes(bytes: bytes, hasher: hasher, starts: starts, labelCount: labelCount))
            }
        }
    }
}
