import Foundation

/// Progress of one action, as the outbox records it: done (a final status) or a retry due at `notBefore`.
public struct OutboxUpdate: Sendable, Equatable {
    public var alertID: String
    public var actionIndex: Int
    public var status: OutboxStatus
    public var attempts: Int
    public var reason: String?
    public var notBefore: Date?

    public init(
        alertID: String,
        actionIndex: Int,
        status: OutboxStatus,
        attempts: Int,
        reason: String? = nil,
        notBefore: Date? = nil
    ) {
        self.alertID = alertID
        self.actionIndex = actionIndex
        self.status = status
        self.attempts = attempts
        self.reason = reason
        self.notBefore = notBefore
    }
}
