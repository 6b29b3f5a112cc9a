import CallWatch
import Foundation
import HeapInUse

/// Engines holding many keys of one condition rule, for the tick and memory benchmarks and for
/// `engine-profile tick|memory`. Every event is decoded from JSON, as `serve` would receive it.
public enum ConditionFixtures {
    public static let origin = Date(timeIntervalSince1970: 1_767_694_639)

    /// What a key's events look like; each key keeps the last events it counted for its alert.
    public enum EventShape: String, Sendable, CaseIterable {
        /// Only the fields the rules read (eventId, callId, destination, callStatus, callDirection, sipCode).
        case small
        /// The corpus's envelope: ~20 payload fields, three UUIDs, a timestamp (what 8x8 sends, ~900 bytes).
        case full
    }

    /// One `CALL_DISCONNECTED` of outbound call `callId` to `destination`.
    public static func disconnect(
        callId: String,
        destination: String,
        sipCode: Int,
        serial: Int,
        shape: EventShape
    ) -> CallEvent {
        let json: String
        switch shape {
        case .small:
            json = """
                {"eventType": "CALL_STATUS", "payload": {"eventId": "\(EventCorpus.uuid(0xe1f0_b001, serial, 3))", \
                "callId": "\(callId)", "destination": "\(destination)", "callStatus": "CALL_DISCONNECTED", \
                "callDirection": "OUTBOUND", "sipCode": \(sipCode)}}
                """
        case .full:
            let fields = EventCorpus.Fields(
                sessionId: EventCorpus.uuid(0x5b0c_2a8e, serial, 0),
                callId: callId,
                subAccount: EventCorpus.subAccount(serial % EventCorpus.subAccounts),
                direction: "OUTBOUND",
                source: "+6531" + EventCorpus.pad(serial % 500, 6),
                destination: destination
            )
            json = fields.with(status: "CALL_DISCONNECTED", duration: "42", sipCode: "\(sipCode)")
                .json(eventSerial: serial, time: origin.timeIntervalSince1970 + Double(serial) / 1000)
        }
        do {
            return try CallEvent.decode(json)
        } catch {
            fatalError("fixture event does not decode: \(error)\n\(json)")
        }
    }

    /// A UUID-shaped call id, as 8x8 sends (36 characters: stored out of line, as in production).
    public static func callId(_ serial: Int) -> String { EventCorpus.uuid(0x5b0c_2a90, serial, 2) }

    public static func rules(_ yaml: String) -> RuleSet {
        RuleGenerator.load(yaml: "version: 1\nrules:\n" + yaml, path: "condition-fixture.yaml")
    }

    /// `by: [callId]`, fires when a call has had no event for an hour.
    public static let absentRule = rules(
        """
          - name: call-went-quiet
            when: {callStatus: CALL_DISCONNECTED}
            by: [callId]
            absent: {for: 1h}
            actions: [{log: {message: "call {{alert.key}} quiet"}}]

        """
    )

    /// `by: [callId]`, answered share over an hour; with one answered event per key it never fires, and the key is
    /// dropped when its event leaves the window.
    public static let ratioByCallRule = rules(
        """
          - name: call-answer-ratio
            when: {callStatus: CALL_DISCONNECTED}
            by: [callId]
            ratio: {of: {sipCode: 200}, within: 1h, min_events: 1, below: 0.5}
            actions: [{log: {message: "ratio {{alert.value}}"}}]

        """
    )

    /// The shipped `low-asr` rule keyed by destination number instead of country: 200,000 destinations are
    /// 200,000 keys.
    public static let ratioByDestinationRule = rules(
        """
          - name: low-asr-per-destination
            when: {callStatus: CALL_DISCONNECTED, callDirection: OUTBOUND}
            by: [destination]
            ratio: {of: {sipCode: 200}, within: 15m, min_events: 20, below: 0.4}
            for: 2m
            keep_firing_for: 5m
            actions: [{log: {message: "low ASR {{alert.status}} for {{alert.key}}"}}]

        """
    )

    // MARK: Ticks

    /// One engine holding `idleKeys` keys whose deadlines are an hour after the last batch, and `ticks` batches of
    /// `duePerTick` keys whose deadlines come earlier, one batch per 10 ms. `tick()` advances the engine to the
    /// next batch's deadline: each call finds exactly that batch due, in a heap that still holds the idle keys
    /// and the batches not yet due. Time only moves forward, so a batch cannot be re-armed behind the idle keys;
    /// the batches are built up front instead (`ticks` must cover warm-up and measured iterations).
    public final class TickFixture: @unchecked Sendable {
        public private(set) var engine: Engine
        public let idleKeys: Int
        public let duePerTick: Int
        private let deadlines: [Date]
        private var next = 0

        public init(ruleSet: RuleSet, idleKeys: Int, duePerTick: Int, ticks: Int) {
            self.idleKeys = idleKeys
            self.duePerTick = duePerTick
            var engine = Engine(ruleSet: ruleSet)
            let hour: Int64 = 3_600_000
            var serial = 0
            var deadlines: [Date] = []
            deadlines.reserveCapacity(ticks)
            // Instants from whole milliseconds, as the conditions keep them (`origin + 0.05 s` as a `Double` can
            // round to the millisecond before, and a tick 1 ms short finds its batch not yet due).
            let originMilliseconds = Int64(origin.timeIntervalSince1970 * 1000)
            func instant(_ milliseconds: Int64) -> Date {
                Date(timeIntervalSince1970: Double(originMilliseconds + milliseconds) / 1000)
            }
            for batch in 0..<ticks {
                let at = instant(Int64(batch) * 10)
                for _ in 0..<duePerTick {
                    serial += 1
                    let event = disconnect(
                        callId: callId(serial),
                        destination: "+6591" + EventCorpus.pad(serial % 1_000_000, 6),
                        sipCode: 200,
                        serial: serial,
                        shape: .small
                    )
                    _ = engine.evaluate(event, at: at)
                }
                // The rule's deadline: an absence holds from `for` on; a ratio event leaves at `within` + 1 ms.
                deadlines.append(instant(Int64(batch) * 10 + hour + 1))
            }
            let idleAt = instant(Int64(ticks) * 10 + 1_000)
            for _ in 0..<idleKeys {
                serial += 1
                let event = disconnect(
                    callId: callId(serial),
                    destination: "+6591" + EventCorpus.pad(serial % 1_000_000, 6),
                    sipCode: 200,
                    serial: serial,
                    shape: .small
                )
                _ = engine.evaluate(event, at: idleAt)
            }
            self.engine = engine
            self.deadlines = deadlines
        }

        /// Batches not yet ticked.
        public var remaining: Int { deadlines.count - next }

        /// Advances to the next batch's deadline; returns the alerts the tick notified.
        @inline(__always)
        public func tick() -> [Alert] {
            precondition(next < deadlines.count, "TickFixture: all \(deadlines.count) batches ticked")
            let at = deadlines[next]
            next += 1
            return engine.advance(to: at)
        }
    }

    // MARK: Memory

    /// Heap and resident memory, read before and after building something that stays alive.
    public struct MemoryReading: Sendable {
        /// Bytes the allocator has handed out (glibc `mallinfo2`, chunk headers and rounding included).
        public var heap: Int
        /// Resident set (VmRSS from /proc/self/statm).
        public var resident: Int

        public static var now: MemoryReading {
            MemoryReading(heap: callwatch_heap_in_use(), resident: residentBytes())
        }

        static func residentBytes() -> Int {
            guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
            let fields = text.split(separator: " ")
            guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
            return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
        }
    }

    /// An engine holding `keys` keys of `ruleSet` (a rule `by: [destination]`), each fed `eventsPerKey`
    /// outbound disconnects 1 s apart (every 5th unanswered, so the ratio stays above the bound); events are
    /// decoded as they are fed, so only what the engine keeps stays allocated.
    public static func keyedEngine(
        ruleSet: RuleSet,
        keys: Int,
        eventsPerKey: Int,
        shape: EventShape
    ) -> Engine {
        var engine = Engine(ruleSet: ruleSet)
        var serial = 0
        for round in 0..<eventsPerKey {
            let at = origin.addingTimeInterval(Double(round))
            for key in 0..<keys {
                serial += 1
                let event = disconnect(
                    callId: callId(serial),
                    destination: "+6591" + EventCorpus.pad(key, 7),
                    sipCode: serial % 5 == 0 ? 486 : 200,
                    serial: serial,
                    shape: shape
                )
                _ = engine.evaluate(event, at: at)
            }
        }
        return engine
    }

    /// The same events `keyedEngine` feeds, decoded and kept in an array with no engine: what the events
    /// themselves cost to keep, to subtract from the engine's figure.
    public static func keptEvents(keys: Int, eventsPerKey: Int, shape: EventShape) -> [CallEvent] {
        var events: [CallEvent] = []
        events.reserveCapacity(keys * eventsPerKey)
        var serial = 0
        for _ in 0..<eventsPerKey {
            for key in 0..<keys {
                serial += 1
                events.append(
                    disconnect(
                        callId: callId(serial),
                        destination: "+6591" + EventCorpus.pad(key, 7),
                        sipCode: serial % 5 == 0 ? 486 : 200,
                        serial: serial,
                        shape: shape
                    )
                )
            }
        }
        return events
    }
}
