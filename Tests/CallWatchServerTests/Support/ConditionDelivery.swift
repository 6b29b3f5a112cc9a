import CallWatch
import Foundation

/// A condition alert as an `http` action delivered it (the default body, the alert JSON), read off a `Sink` request.
struct ConditionDelivery: Sendable, CustomStringConvertible {
    var path: String
    /// The `Idempotency-Key` header.
    var idempotencyKey: String?
    var id: String
    var rule: String
    var key: [String: String]
    var status: String
    var value: Double?
    var count: Int
    /// Times in whole milliseconds since 1970, as the alert JSON prints them.
    var firstAt: Int64
    var lastAt: Int64
    var firedAt: Int64
    var startsAt: Int64
    var endsAt: Int64?
    var eventIDs: [String]

    /// Nil when the body is not an alert JSON with every field this needs.
    init?(_ received: Sink.Received) {
        guard let json = received.json, let id = json["id"] as? String, let rule = json["rule"] as? String,
            let status = json["status"] as? String, let count = json["count"] as? Int,
            let firstAt = Self.milliseconds(json["firstAt"]), let lastAt = Self.milliseconds(json["lastAt"]),
            let firedAt = Self.milliseconds(json["firedAt"]), let startsAt = Self.milliseconds(json["startsAt"]),
            json.keys.contains("value"), json.keys.contains("endsAt")
        else { return nil }
        path = received.path
        idempotencyKey = received.idempotencyKey
        self.id = id
        self.rule = rule
        key = (json["key"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String }
        self.status = status
        value = (json["value"] as? NSNumber)?.doubleValue
        self.count = count
        self.firstAt = firstAt
        self.lastAt = lastAt
        self.firedAt = firedAt
        self.startsAt = startsAt
        endsAt = Self.milliseconds(json["endsAt"])
        eventIDs = (json["events"] as? [[String: Any]] ?? []).compactMap { $0["eventId"] as? String }
    }

    /// N of an `ID+N` key (the Nth repeat), 0 for the first notification; -1 for a key of another shape.
    var repetition: Int {
        guard let key = idempotencyKey else { return -1 }
        guard let plus = key.lastIndex(of: "+") else { return key == id ? 0 : -1 }
        return key[..<plus] == id ? Int(key[key.index(after: plus)...]) ?? -1 : -1
    }

    var description: String {
        "\(status) \(rule) \(key) id=\(id) value=\(value.map { "\($0)" } ?? "null") startsAt=\(startsAt)"
            + " endsAt=\(endsAt.map { "\($0)" } ?? "null") count=\(count) events=\(eventIDs)"
    }

    static func milliseconds(_ value: Any?) -> Int64? {
        guard let text = value as? String, let date = Timestamp.parse(text) else { return nil }
        return milliseconds(date)
    }

    static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}

extension Sink {
    /// The condition alerts received (requests whose body is not one are left out), in arrival order.
    var deliveries: [ConditionDelivery] { received.compactMap(ConditionDelivery.init) }

    /// The deliveries of `rule` for the key whose `by` field `field` is `value`.
    func deliveries(rule: String, _ field: String, _ value: String) -> [ConditionDelivery] {
        deliveries.filter { $0.rule == rule && $0.key[field] == value }
    }
}

/// The instants a request was sent and its answer read, in whole milliseconds since 1970: the daemon received it
/// in between.
struct Bracket: Sendable, CustomStringConvertible {
    var sent: Int64
    var answered: Int64

    /// Whether `instant` falls inside, widened by `slack` milliseconds each side.
    func contains(_ instant: Int64, slack: Int64) -> Bool {
        instant >= sent - slack && instant <= answered + slack
    }

    var description: String { "[\(sent), \(answered)]" }

    static var now: Int64 { ConditionDelivery.milliseconds(Date()) }

    /// Runs `body` and returns when it began and ended.
    static func around(_ body: () async throws -> Void) async rethrows -> Bracket {
        let sent = now
        try await body()
        return Bracket(sent: sent, answered: now)
    }
}

/// Waits (by polling, never asserting on how long it took) until the wall clock reaches `instant`, in
/// milliseconds since 1970.
func sleepUntil(milliseconds instant: Int64) async throws {
    while Bracket.now < instant {
        try await Task.sleep(for: .milliseconds(min(100, max(1, instant - Bracket.now))))
    }
}
