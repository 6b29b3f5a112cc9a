import CallWatch
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The checks in front of the ingest and reload routes: the client allow-list (403) and
/// credentials (401), compared in constant time. Built once per rules load.
struct RequestGuard: Sendable {
    enum Verdict: Equatable {
        case allowed
        case forbidden
        case unauthorized
    }

    let allow: [CIDR]
    let trustForwarded: Bool
    let maxBody: Int
    let headerName: HTTPField.Name?
    let expected: [UInt8]
    let isBasic: Bool
    let idleTimeout: Duration

    init(server: ServerConfig) {
        idleTimeout = server.idleTimeout
        allow = server.allow
        trustForwarded = server.trustForwarded
        maxBody = server.maxBody
        switch server.auth {
        case .authorization(let value):
            headerName = .authorization
            expected = Array(value.utf8)
            isBasic = false
        case .basic(let username, let password):
            headerName = .authorization
            expected = Array(("Basic " + Data("\(username):\(password)".utf8).base64EncodedString()).utf8)
            isBasic = true
        case .header(let name, let value):
            // The loader rejects a name that is not a field name; should one get here all the same, no request
            // passes (an empty expected value never matches) rather than every request.
            let parsed = HTTPField.Name(name)
            headerName = parsed ?? .authorization
            expected = parsed == nil ? [] : Array(value.utf8)
            isBasic = false
        case nil:
            headerName = nil
            expected = []
            isBasic = false
        }
    }

    func check(_ headers: HTTPFields, remoteAddress: SocketAddress?) -> Verdict {
        if !allow.isEmpty {
            guard let address = clientAddress(headers, remoteAddress: remoteAddress),
                allow.contains(where: { $0.contains(address) })
            else { return .forbidden }
        }
        if let headerName {
            guard let given = headers[headerName], Self.constantTimeEqual(Array(given.utf8), expected) else {
                return .unauthorized
            }
        }
        return .allowed
    }

    /// The peer's address, or behind a trusted proxy the right-most X-Forwarded-For entry (the one the proxy
    /// appended; entries further left come from the client and can be forged).
    func clientAddress(_ headers: HTTPFields, remoteAddress: SocketAddress?) -> String? {
        if trustForwarded, let forwarded = headers[HTTPField.Name("X-Forwarded-For")!] {
            if let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty {
                return last
            }
        }
        return remoteAddress?.ipAddress
    }

    /// Compares every byte whatever the lengths, so the time taken says nothing about the secret.
    static func constantTimeEqual(_ given: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: given.count ^ expected.count)
        for index in 0..<max(given.count, expected.count) {
            let a = index < given.count ? given[index] : 0
            let b = index < expected.count ? expected[index] : 0
            difference |= a ^ b
        }
        return difference == 0 && !expected.isEmpty
    }

    var challenge: HTTPFields {
        isBasic ? [.wwwAuthenticate: "Basic realm=\"callwatch\""] : [:]
    }
}
