import CZlib
import Foundation

/// Something bytes are read from in chunks: a file, or a gzip stream over one.
public protocol ByteSource {
    /// Fills up to `buffer.count` bytes; 0 at the end.
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Bytes consumed from the underlying file so far, for progress.
    var fileBytesRead: Int { get }
}

public struct ReadFailure: Error, CustomStringConvertible {
    public let description: String
}

/// A file read with read(2); `-` is standard input. Pipes and other non-seekable files are read
/// like any other: nothing here seeks.
public final class FileSource: ByteSource {
    public let path: String
    private let fd: Int32
    public private(set) var fileBytesRead = 0

    public init(path: String) throws {
        self.path = path
        fd = path == "-" ? dup(0) : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReadFailure(description: "\(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let count = Foundation.read(fd, buffer.baseAddress, buffer.count)
            if count >= 0 {
                fileBytesRead += count
                return count
            }
            if errno != EINTR { throw ReadFailure(description: "\(path): \(String(cString: strerror(errno)))") }
        }
    }

    /// Opens `path` (`-`: standard input) for reading, inflating it when it is gzip; the
    /// content's first bytes can be looked at with ``PeekableSource/peek(_:)`` without losing them.
    public static func openContent(_ path: String) throws -> (content: PeekableSource, compressed: Bool) {
        let raw = PeekableSource(try FileSource(path: path))
        let compressed = GzipSource.isGzip(raw.peek(2))
        return (compressed ? PeekableSource(try GzipSource(input: raw, name: path)) : raw, compressed)
    }
}

/// A source whose first bytes can be looked at before it is read: they are kept and handed out
/// again by ``read(into:)``, so a pipe loses nothing to the look.
public final class PeekableSource: ByteSource {
    private var inner: any ByteSource
    private var kept: [UInt8] = []
    private var keptOffset = 0
    /// A read error met while peeking, thrown once the kept bytes have been read.
    private var deferredError: (any Error)?

    public var fileBytesRead: Int { inner.fileBytesRead }

    public init(_ inner: any ByteSource) {
        self.inner = inner
    }

    /// Up to `count` first bytes (fewer only at the end of the input or on a read error, which
    /// the reads then report). Only before the first ``read(into:)``.
    public func peek(_ count: Int) -> [UInt8] {
        precondition(keptOffset == 0, "peek after read")
        while kept.count < count, deferredError == nil {
            var chunk = [UInt8](repeating: 0, count: count - kept.count)
            do {
                let read = try chunk.withUnsafeMutableBytes { try inner.read(into: $0) }
                if read == 0 { break }
                kept += chunk.prefix(read)
            } catch {
                deferredError = error
            }
        }
        return Array(kept.prefix(count))
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if keptOffset < kept.count {
            let count = min(buffer.count, kept.count - keptOffset)
            kept.withUnsafeBytes { buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[keptOffset..<keptOffset + count])) }
            keptOffset += count
            return count
        }
        if let deferredError {
            self.deferredError = nil
            throw deferredError
        }
        return try inner.read(into: buffer)
    }
}

/// A gzip stream inflated as it is read (zlib), with constant memory whatever its size. Several
/// gzip members one after the other (what `cat a.gz b.gz` gives) are read as one stream.
public final class GzipSource: ByteSource {
    private var file: any ByteSource
    private let name: String
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeMutableRawBufferPointer
    private var inputEnded = false
    private var streamEnded = false

    public var fileBytesRead: Int { file.fileBytesRead }

    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B
    }

    /// - Parameters:
    ///   - input: the compressed bytes.
    ///   - name: the file's name, for error messages.
    public init(input: any ByteSource, name: String) throws {
        self.file = input
        self.name = name
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        self.input = .allocate(byteCount: 1 << 16, alignment: 1)
        guard czlib_inflate_init_gzip(stream) == Z_OK else {
            throw ReadFailure(description: "\(name): zlib could not start")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        input.deallocate()
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(buffer.count)
        // Until some output is produced or the input ends.
        while stream.pointee.avail_out == uInt(buffer.count) {
            if streamEnded {
                // Another member may follow.
                if stream.pointee.avail_in == 0, try !refill() { return 0 }
                guard inflateReset(stream) == Z_OK else { throw ReadFailure(description: "\(name): zlib reset failed") }
                streamEnded = false
            }
            if stream.pointee.avail_in == 0, try !refill() {
                throw ReadFailure(description: "\(name): the gzip data ends early")
            }
            let result = inflate(stream, Z_NO_FLUSH)
            switch result {
            case Z_OK, Z_BUF_ERROR:
                continue
            case Z_STREAM_END:
                streamEnded = true
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "code \(result)"
                throw ReadFailure(description: "\(name): not valid gzip data (\(message))")
            }
        }
        return buffer.count - Int(stream.pointee.avail_out)
    }

    /// Reads more compressed input; false at the end of the file.
    private func refill() throws -> Bool {
        guard !inputEnded else { return false }
        let count = try file.read(into: input)
        if count == 0 { inputEnded = true; return false }
        stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = uInt(count)
        return true
    }
}

/// Splits a byte source into lines with one fixed buffer: memory does not grow with the file.
/// A line longer than the buffer is cut at the buffer's size and the rest of it skipped.
public struct LineReader {
    public static let bufferSize = 1 << 18

    /// Calls `body` with each line, without its newline, until the end or until `body` returns
    /// false.
    public static func forEachLine(in source: inout some ByteSource, _ body: (UnsafeBufferPointer<UInt8>) -> Bool) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 1)
        defer { buffer.deallocate() }
        let bytes = buffer.bindMemory(to: UInt8.self)
        var filled = 0
        var skippingRest = false
        while true {
            let count = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            if count == 0 {
                if filled > 0, !skippingRest { _ = body(UnsafeBufferPointer(rebasing: bytes[0..<filled])) }
                return
            }
            filled += count
            var start = 0
            while start < filled {
                guard let found = memchr(bytes.baseAddress! + start, 0x0A, filled - start) else { break }
                let end = bytes.baseAddress!.distance(to: found.assumingMemoryBound(to: UInt8.self))
                if !skippingRest, !body(UnsafeBufferPointer(rebasing: bytes[start..<end])) { return }
                skippingRest = false
                start = end + 1
            }
            if start == 0 && filled == bufferSize {
                // One line fills the buffer: hand over its start, skip to its end.
                if !skippingRest, !body(UnsafeBufferPointer(rebasing: bytes[0..<filled])) { return }
                skippingRest = true
                filled = 0
            } else if start > 0 {
                let remaining = filled - start
                if remaining > 0 { memmove(bytes.baseAddress!, bytes.baseAddress! + start, remaining) }
                filled = remaining
            }
        }
    }
}
