/// The 8x8 webhook shapes of `Tests/CallWatchTests/Fixtures/8x8`, each with a rule that matches it and nothing else
/// there: shared by the decoding tests and the end-to-end ones.
public enum WebhookShapes {
    /// Fixture file, the rule it fires, and that rule's `when`.
    public static let rules: [(file: String, rule: String, when: String)] = [
        ("vcs-dtmf-received.json", "dtmf-status", #"{eventType: CALL_STATUS, callStatus: DTMF_RECEIVED, dtmf: "9"}"#),
        (
            "vca-action-completed.json", "ivr-choice",
            "{eventType: CALL_ACTION, callStatus: ACTION_COMPLETED, clientActionId: menu_main}"
        ),
        (
            "vss-ivr.json", "ivr-error",
            "{eventType: SESSION_SUMMARY, errorDetails.errorCode: {lt: 0}, callQuality.mos: {lt: 3.5}}"
        ),
        (
            "vss-voice-messaging.json", "message-unanswered",
            "{eventType: SESSION_SUMMARY, details.CallA.sipCode: {gte: 400}}"
        ),
        (
            "recording-status-upload-failed.json", "recording-failed",
            "{eventType: CALL_RECORDING_STATUS, status: UPLOAD_FAILED}"
        ),
        (
            "recording-status-uploaded.json", "recording-uploaded",
            "{eventType: CALL_RECORDING_STATUS, status: UPLOADED}"
        ),
        (
            "virtual-number-update.json", "numbers-changed",
            "{eventType: VIRTUAL_NUMBER_UPDATE, updateEventType: UPDATES}"
        ),
    ]

    /// The rules as entries of a `rules:` list (two-space indented), each with `actions` as given.
    public static func rulesYAML(actions: (String) -> String) -> String {
        rules.map { shape in
            """
              - name: \(shape.rule)
                when: \(shape.when)
                actions: \(actions(shape.rule))

            """
        }.joined()
    }
}
