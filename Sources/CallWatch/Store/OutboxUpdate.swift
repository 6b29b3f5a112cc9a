import Foundation

/// Progress of one action, as the outbox records it: done (a final status) or a retry due at `notBefore`.
public struct OutboxUpdate: Sendable, Equatable {
    public var alertID: String
    public var actionIndex: Int
    public var status: OutboxStatus
    public var attempts: Int
    public var reason: String?
    public var notBefore: Date?
    /// `alertID` is a group's id: the update applies to the rows of every alert of the group.
    public var group: Bool

    public init(
        alertID: String,
        actionIndex: Int,
        status: OutboxStatus,
        attempts: Int,
        reason: String? = nil,
        notBefore: Date? = nil,
        group: Bool = false
    ) {
        self.alertID = alertID
        self.actionIndex = actionIndex
        self.status = status
        self.attempts = attempts
        self.reason = reason
        self.notBefore = notBefore
        self.group = group
    }
}
