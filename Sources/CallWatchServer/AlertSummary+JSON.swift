import CallWatch

/// An alert as `GET /api/v1/alerts` lists it.
extension AlertSummary {
    var json: JSONValue {
        .object(
            JSONObject([
                ("id", .string(id)), ("rule", .string(rule)), ("key", .string(key)),
                ("firedAt", .string(Timestamp.format(firedAt))),
                ("state", .string(silenced ? "silenced" : "notified")),
                (
                    "actions",
                    .array(
                        actions.map { action in
                            .object(
                                JSONObject([
                                    ("index", .number(Double(action.index))), ("kind", .string(action.kind)),
                                    ("status", .string(action.status.rawValue)),
                                    ("attempts", .number(Double(action.attempts))),
                                    ("reason", action.reason.map(JSONValue.string) ?? .null),
                                ])
                            )
                        }
                    )
                ),
            ])
        )
    }
}
