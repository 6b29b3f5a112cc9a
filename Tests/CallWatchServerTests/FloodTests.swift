import CallWatch
import Foundation
import HTTPTypes
import Testing

@testable import CallWatchServer

/// No bad input crashes the daemon or loses another event.
@Suite("Flood of bad requests")
struct FloodTests {
    enum Request: Sendable {
        case good(index: Int)
        case bad(kind: Int, index: Int)
    }

    enum Outcome: Sendable {
        case good(id: String, status: HTTPResponse.Status, body: String)
        case bad(kind: Int, status: Int?)
    }

    static let badKinds = 7

    /// One of several kinds of bad request; kind 6 is not even HTTP.
    static func sendBad(kind: Int, index: Int, server: RunningServer) async throws -> Int? {
        let id = "flood-bad-\(index)"
        switch kind {
        case 0: return try await server.post(#"{"payload": {"eventId": "\#(id)", "#).status.code
        case 1: return try await server.post(#"{"payload": "CALL_DISCONNECTED"}"#).status.code
        case 2:
            return try await server.post(Fixture.event(id: id), headers: [.contentType: "text/plain"]).status.code
        case 3:
            let padded = Fixture.event(id: id, extra: ["padding": String(repeating: "z", count: 4096)])
            return try await server.post(padded).status.code
        case 4: return try await server.post(#"{"eventId": "\#(id)"}"#).status.code
        case 5:
            let body = Fixture.event(id: id)
            return try await server.post(String(body.prefix(body.count / 2))).status.code
        default:
            return try? await RawHTTP.exchange(port: server.port, "\u{1}\u{2}GARBAGE \(id)\r\n\r\n")?.status
        }
    }

    @Test("200 malformed requests mixed with 200 good ones: every good one is accepted and stored")
    func floodLosesNoGoodEvent() async throws {
        let rule = "e2e-flood-matches"
        let rules = Fixture.config(rules: Fixture.windowRule(name: rule, count: 1000))
        try await withServer(rules: rules) { server in
            let before = try await server.metrics()
            var requests: [Request] = []
            for index in 0..<200 {
                requests.append(.bad(kind: index % Self.badKinds, index: index))
                requests.append(.good(index: index))
            }
            var outcomes: [Outcome] = []
            try await withThrowingTaskGroup(of: Outcome.self) { group in
                var pending = requests.makeIterator()
                func startNext() -> Bool {
                    guard let request = pending.next() else { return false }
                    group.addTask {
                        switch request {
                        case .good(let index):
                            let id = "flood-good-\(index)"
                            let event = Fixture.event(id: id, destination: "+6200000\(index % 7)")
                            let result = try await server.post(event)
                            return .good(id: id, status: result.status, body: result.body)
                        case .bad(let kind, let index):
                            return .bad(
                                kind: kind,
                                status: try await Self.sendBad(kind: kind, index: index, server: server)
                            )
                        }
                    }
                    return true
                }
                for _ in 0..<64 where !startNext() {}
                while let outcome = try await group.next() {
                    outcomes.append(outcome)
                    _ = startNext()
                }
            }

            var accepted: Set<String> = []
            for outcome in outcomes {
                switch outcome {
                case .good(let id, let status, let body):
                    #expect(status == .ok, "\(id): \(body)")
                    #expect(body == #"{"status":"accepted"}"#, "\(id)")
                    accepted.insert(id)
                case .bad(let kind, let status):
                    if let status {
                        #expect((400..<500).contains(status), "bad request of kind \(kind) got \(status)")
                    } else {
                        #expect(kind == 6, "bad request of kind \(kind) got no answer")
                    }
                }
            }
            let expected = Set((0..<200).map { "flood-good-\($0)" })
            #expect(accepted == expected)
            #expect(Set(try await server.storedIdentities()) == Set(expected.map { "CALL_STATUS:" + $0 }))

            let after = try await server.metrics()
            #expect(after.delta("callwatch_rule_matches_total", ["rule": rule], since: before) == 200)
            #expect(after.delta("callwatch_events_total", ["outcome": "rejected"], since: before) >= 150)
            #expect(try await server.send(.get, "/healthz").status == .ok)
            try await server.accept(Fixture.event(id: "flood-after"))
        }
    }
}
