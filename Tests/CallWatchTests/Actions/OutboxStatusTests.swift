import Testing

@testable import CallWatch

extension Actions {
    /// The one status of an action: what the outbox stores, what is final, and its `outcome` label on
    /// `callwatch_actions_total`.
    @Suite struct OutboxStatusTests {
        @Test(arguments: [
            (OutboxStatus.pending, "pending", false, "retry"),
            (.success, "success", true, "success"),
            (.failure, "failure", true, "failure"),
            (.timeout, "timeout", true, "timeout"),
        ])
        func storedValueFinalityAndMetricLabel(status: OutboxStatus, stored: String, isFinal: Bool, metric: String) {
            #expect(status.rawValue == stored)
            #expect(OutboxStatus(rawValue: stored) == status)
            #expect(status.isFinal == isFinal)
            #expect(status.metricOutcome == metric)
        }
    }
}
