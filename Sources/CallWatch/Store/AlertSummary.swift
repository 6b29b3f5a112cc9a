import Foundation

/// A recent alert with its actions' outcomes, for `callwatch alerts` and `GET /api/v1/alerts`.
public struct AlertSummary: Sendable {
    public struct Action: Sendable {
        public var index: Int
        public var kind: String
        public var status: OutboxStatus
        public var attempts: Int
        public var reason: String?
    }

    public var id: String
    public var rule: String
    public var key: String
    public var firedAt: Date
    /// A silence muted it (no action ran).
    public var silenced = false
    public var actions: [Action]
}
