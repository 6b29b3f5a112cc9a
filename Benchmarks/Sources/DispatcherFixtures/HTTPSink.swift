import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The smallest HTTP/1.1 server that can stand in for an alert receiver: 127.0.0.1 on an ephemeral port, one
/// thread per connection, keep-alive, answers every request `200` with an empty body. Built on sockets alone so
/// the benchmark package needs no server framework; the dispatcher's libcurl client, not this sink, should be
/// the cost being measured.
public final class HTTPSink: Sendable {
    public let port: Int
    private let listener: Int32
    private let served = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)

    /// Requests answered so far.
    public var requests: Int { served.load(ordering: .relaxed) }

    public init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(fd >= 0, "socket() failed")
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        precondition(bound == 0 && listen(fd, 512) == 0, "cannot listen on 127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "http-sink"
        thread.start()
    }

    /// Stops accepting; open connections end when the client closes them.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while !stopped.load(ordering: .relaxed) {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR { continue }
                return
            }
            var yes: Int32 = 1
            setsockopt(connection, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            let thread = Thread { [self] in serve(connection) }
            thread.stackSize = 256 * 1024
            thread.start()
        }
    }

    private static let ok = Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8)
    private static let proceed = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Reads requests (head, then `Content-Length` bytes of body) and answers each; pipelined bytes are kept.
    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        func fill() -> Bool {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { return false }
            pending.append(contentsOf: chunk[0..<count])
            return true
        }
        while true {
            var headEnd: Int?
            while headEnd == nil {
                headEnd = Self.find(pending, Array("\r\n\r\n".utf8))
                if headEnd == nil, !fill() { return }
            }
            let head = String(decoding: pending[0..<headEnd!], as: UTF8.self).lowercased()
            var length = 0
            var expectsContinue = false
            for line in head.split(separator: "\r\n") {
                if line.hasPrefix("content-length:") {
                    length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
                } else if line.hasPrefix("expect:"), line.contains("100-continue") {
                    expectsContinue = true
                }
            }
            if expectsContinue, pending.count < headEnd! + 4 + length, !send(fd, Self.proceed) { return }
            while pending.count < headEnd! + 4 + length {
                if !fill() { return }
            }
            pending.removeFirst(headEnd! + 4 + length)
            served.add(1, ordering: .relaxed)
            if !send(fd, Self.ok) { return }
        }
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count
    }

    private static func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<start + needle.count].elementsEqual(needle) { return start }
        }
        return nil
    }
}
