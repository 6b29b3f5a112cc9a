import Foundation

/// After a key fires, further fires within `cooldown` are suppressed (and counted).
public struct CooldownState: Sendable {
    public let cooldown: Double
    public private(set) var lastFired: Date?
    public private(set) var suppressed = 0

    public init(cooldown: Duration) {
        self.cooldown = cooldown.seconds
    }

    public enum Decision: Equatable, Sendable {
        case fire
        case suppress
    }

    public mutating func decide(at now: Date) -> Decision {
        if let lastFired, now.timeIntervalSince(lastFired) < cooldown {
            suppressed += 1
            return .suppress
        }
        lastFired = now
        return .fire
    }

    /// Whether a fire at `now` would be suppressed.
    public func isActive(at now: Date) -> Bool {
        lastFired.map { now.timeIntervalSince($0) < cooldown } ?? false
    }

    /// Records a fire the journal shows happened (rebuilding state after a restart).
    public mutating func markFired(at now: Date) {
        lastFired = now
    }

    public var expiresAt: Date? { lastFired.map { $0.addingTimeInterval(cooldown) } }
}
