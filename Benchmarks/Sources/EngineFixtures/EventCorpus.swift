import CallWatch
import Foundation

/// Realistic 8x8 Call Status traffic, generated deterministically: masked sessions made of an inbound leg
/// (`CALL_RECEIVED`), an outbound leg (`CALL_INITIATED`, `CALL_CONNECTED`), sometimes DTMF digits, and two
/// disconnects, in the envelope shape of Tests/CallWatchTests/Fixtures/vcs-call-status.jsonl. Every event has its own
/// `eventId`; destinations come from a pool that overlaps the generated rules' destinations, so rule lookups
/// hit real candidates.
public struct EventCorpus: Sendable {
    public enum Mix: Sendable {
        /// Production-like: ~2 % of sessions fail with a SIP error (zero duration), ~10 % carry DTMF digits.
        case realistic
        /// Only events that no event rule's `when` (the shipped four, the 1,000 generated) matches: SIP 200,
        /// non-zero durations on disconnects, no DTMF. The shipped condition rules still see every
        /// `CALL_CONNECTED` and `CALL_DISCONNECTED` (gauge, absent, ratio, aggregate): 1.4 rule matches per event,
        /// none firing.
        case nonMatching
    }

    /// Number of distinct destinations events go to; `RuleGenerator` writes rules for a subset of them.
    public static let destinationPool = 2_000
    public static let subAccounts = 100

    public static func destination(_ index: Int) -> String { "+6591" + pad(index, 6) }
    public static func subAccount(_ index: Int) -> String { "tenant_" + pad(index, 3) }
    static func virtualNumber(_ index: Int) -> String { "+6531" + pad(index % 500, 6) }

    /// Request bodies as they arrive (one JSON envelope each).
    public let bodies: [[UInt8]]

    public init(mix: Mix, sessions: Int, seed: UInt64 = 0x8_8_8_8) {
        var random = SplitMix64(seed: seed)
        var bodies: [[UInt8]] = []
        bodies.reserveCapacity(sessions * 6)
        var clock = 1_767_694_639.375  // 2026-01-06T10:17:19.375Z
        var eventSerial = 0
        func emit(_ event: Fields) {
            eventSerial += 1
            bodies.append(Array(event.json(eventSerial: eventSerial, time: clock).utf8))
            clock += Double(random.next(upTo: 40)) / 1000 + 0.001
        }
        for session in 0..<sessions {
            let destination = Self.destination(random.next(upTo: Self.destinationPool))
            let virtual = Self.virtualNumber(session)
            let caller = "+658" + Self.pad(random.next(upTo: 10_000_000), 7)
            let subAccount = Self.subAccount(random.next(upTo: Self.subAccounts))
            let roll = random.next(upTo: 100)
            let fails = mix == .realistic && roll < 2
            let dtmf = mix == .realistic && roll >= 90
            let sessionId = Self.uuid(0x5b0c_2a8e, session, 0)
            let inbound = Fields(
                sessionId: sessionId,
                callId: Self.uuid(0x5b0c_2a8f, session, 1),
                subAccount: subAccount,
                direction: "INBOUND",
                source: caller,
                destination: virtual
            )
            var outbound = inbound
            outbound.callId = Self.uuid(0x5b0c_2a90, session, 2)
            outbound.direction = "OUTBOUND"
            outbound.source = virtual
            outbound.destination = destination

            emit(inbound.with(status: "CALL_RECEIVED"))
            emit(outbound.with(status: "CALL_INITIATED"))
            if fails {
                let code = [486, 480, 503, 404][random.next(upTo: 4)]
                emit(outbound.with(status: "CALL_DISCONNECTED", duration: "0", sipCode: "\(code)"))
                emit(inbound.with(status: "CALL_DISCONNECTED", duration: "0", sipCode: "\(code)"))
                continue
            }
            emit(outbound.with(status: "CALL_CONNECTED"))
            if dtmf {
                for digit in ["1", "2", "#"].prefix(1 + random.next(upTo: 3)) {
                    emit(
                        inbound.with(
                            status: "DTMF_RECEIVED",
                            duration: "null",
                            eventData: "{\"dtmf\": \"\(digit)\"}",
                            sipCode: "null"
                        )
                    )
                }
            }
            let talk = 5 + random.next(upTo: 600)
            // Older 8x8 documentation sends callDuration as a string; newer as a number. Send both.
            let duration = session % 3 == 0 ? "\"\(talk)\"" : "\(talk)"
            emit(outbound.with(status: "CALL_DISCONNECTED", duration: duration))
            emit(inbound.with(status: "CALL_DISCONNECTED", duration: "\(talk + 3)"))
        }
        self.bodies = bodies
    }

    /// The bodies decoded once, for the evaluate-only benchmarks.
    public func decoded() -> [CallEvent] {
        bodies.map { body in
            body.withUnsafeBytes { bytes in
                do {
                    return try CallEvent.decode(bytes)
                } catch {
                    fatalError("corpus event does not decode: \(error)\n\(String(decoding: body, as: UTF8.self))")
                }
            }
        }
    }

    struct Fields {
        var sessionId: String
        var callId: String
        var subAccount: String
        var direction: String
        var source: String
        var destination: String
        var status = ""
        var duration = "0"
        var eventData = "\" \""
        var sipCode = "200"

        func with(
            status: String,
            duration: String = "0",
            eventData: String = "\" \"",
            sipCode: String = "200"
        ) -> Fields {
            var copy = self
            copy.status = status
            copy.duration = duration
            copy.eventData = eventData
            copy.sipCode = sipCode
            return copy
        }

        func json(eventSerial: Int, time: Double) -> String {
            let eventId = EventCorpus.uuid(0xe1f0_a001, eventSerial, 3)
            let inbound = direction == "INBOUND"
            return """
                {"namespace": "VOICE", "eventType": "CALL_STATUS", "description": "Status update of a call", \
                "payload": {"eventId": "\(eventId)", "callId": "\(callId)", "sessionId": "\(sessionId)", \
                "subAccountId": "\(subAccount)", "callStatus": "\(status)", "callDirection": "\(direction)", \
                "callType": "PSTN", "source": "\(source)", "destination": "\(destination)", \
                "sourceFormat": "MSISDN", "destinationFormat": "MSISDN", "sourceCountryCode": "SG", \
                "destinationCountryCode": "SG", "sourceRefId": \(inbound ? "\"vn-ref-1\"" : "null"), \
                "destinationRefId": \(inbound ? "null" : "\"vn-ref-1\""), "callDuration": \(duration), \
                "eventData": \(eventData), "sipCode": \(sipCode), "timestamp": "\(EventCorpus.timestamp(time))"}}
                """
        }
    }

    public static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    static func hex(_ value: Int, _ width: Int) -> String {
        let digits = String(value, radix: 16)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// A UUID-shaped id, unique per (`prefix`, `serial`, `kind`).
    static func uuid(_ prefix: Int, _ serial: Int, _ kind: Int) -> String {
        hex(prefix, 8) + "-" + hex(serial >> 16 & 0xffff, 4) + "-11f1-8a0" + String(kind) + "-"
            + hex(serial & 0xffff, 4)
            + "42ac1200"
    }

    static func timestamp(_ seconds: Double) -> String {
        let millis = Int((seconds * 1000).rounded())
        let date = Date(timeIntervalSince1970: Double(millis / 1000))
        var parts = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
        parts.nanosecond = nil
        return pad(parts.year!, 4) + "-" + pad(parts.month!, 2) + "-" + pad(parts.day!, 2) + "T" + pad(parts.hour!, 2)
            + ":" + pad(parts.minute!, 2) + ":" + pad(parts.second!, 2) + "." + pad(millis % 1000, 3) + "Z"
    }
}

/// A small deterministic generator, so every run measures the same corpus and the same rules.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    mutating func next(upTo bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
