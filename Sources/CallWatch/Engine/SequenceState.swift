import Foundation

/// The DTMF-style digit buffer of one key: values appended in arrival order, characters older than `within`
/// dropped, at most `capacity` characters; a pattern match fires and empties it.
public struct SequenceState: Sendable {
    public static let capacity = 64

    public let within: Double
    public private(set) var characters: [(character: Character, time: Date, event: Int)] = []
    /// Events whose characters are still in the buffer (indexed by `characters[i].event`).
    public private(set) var events: [CallEvent] = []
    /// The call whose digits are buffered: its disconnect drops the buffer.
    public private(set) var callId: String?

    public init(within: Duration) {
        self.within = within.seconds
    }

    public var buffer: String { String(characters.map(\.character)) }

    /// Appends `value` (already trimmed) and searches `pattern`; returns the match and the contributing events.
    public mutating func append(
        _ value: String,
        event: CallEvent,
        at now: Date,
        pattern: CompiledRegex
    ) -> (match: String, events: [CallEvent], firstAt: Date)? {
        expire(at: now)
        if case .string(let call) = event[.callId] { callId = call }
        events.append(event)
        let eventIndex = events.count - 1
        for character in value { characters.append((character, now, eventIndex)) }
        if characters.count > Self.capacity { characters.removeFirst(characters.count - Self.capacity) }
        compactEvents()
        guard let match = pattern.firstMatch(in: buffer) else { return nil }
        let fired = (match, events, characters[0].time)
        characters.removeAll()
        events.removeAll()
        return fired
    }

    public mutating func expire(at now: Date) {
        let cutoff = now.timeIntervalSince1970 - within
        if let keep = characters.firstIndex(where: { $0.time.timeIntervalSince1970 >= cutoff }) {
            if keep > 0 { characters.removeFirst(keep) }
        } else {
            characters.removeAll()
        }
        compactEvents()
    }

    /// Keeps only the events that still own a character.
    mutating func compactEvents() {
        guard let first = characters.first?.event else {
            events.removeAll()
            return
        }
        if first > 0 {
            events.removeFirst(first)
            for index in characters.indices { characters[index].event -= first }
        }
    }

    public mutating func drop() {
        characters.removeAll()
        events.removeAll()
        callId = nil
    }

    public var isEmpty: Bool { characters.isEmpty }
    public var expiresAt: Date? { characters.last.map { $0.time.addingTimeInterval(within) } }
}
