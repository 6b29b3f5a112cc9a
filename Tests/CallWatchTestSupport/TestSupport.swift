// What both test targets need from the machine: temporary directories, free ports, polling, seeded randomness.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A test helper's failure, said in words.
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Runs `body` with a fresh directory under the system temporary directory (`PREFIX-UUID`), removed afterwards.
public func withTemporaryDirectory<T>(
    prefix: String,
    _ body: (String) async throws -> T
) async throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// A port on 127.0.0.1 with nothing listening: bound to learn a free number, then closed.
public func unusedPort() throws -> Int {
    let (fd, port) = try boundLoopbackSocket()
    close(fd)
    return port
}

/// Runs `body` with a port on 127.0.0.1 that refuses connections for as long as `body` runs: a socket bound to it
/// that never listens, so no other test's server can take the number meanwhile.
public func withRefusingPort<T>(_ body: (Int) async throws -> T) async throws -> T {
    let (fd, port) = try boundLoopbackSocket()
    defer { close(fd) }
    return try await body(port)
}

private func boundLoopbackSocket() throws -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket() failed: errno \(errno)") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
            bind(fd, generic, length) == 0 && getsockname(fd, generic, &length) == 0
        }
    }
    guard bound else {
        let failure = errno
        close(fd)
        throw TestFailure("bind() failed: errno \(failure)")
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}

/// Polls `condition` every `poll` until it holds or `timeout` passes; returns whether it held. For waiting on
/// things that happen after an answer (a hook's file, a sink's request, a file watch), never for timing.
public func eventually(
    timeout: Duration = .seconds(10),
    poll: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: poll)
    }
}

/// Like `eventually`, but throws "timed out waiting for WHAT" when `timeout` passes first.
public func waitUntil(
    _ what: String,
    timeout: Duration = .seconds(10),
    poll: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async throws {
    guard try await eventually(timeout: timeout, poll: poll, condition) else {
        throw TestFailure("timed out waiting for \(what)")
    }
}

/// SplitMix64: a small seeded generator, so a failing run can be repeated exactly.
public struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
