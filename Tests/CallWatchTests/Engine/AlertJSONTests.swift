import Foundation
import Testing

@testable import CallWatch

/// The alert JSON's status, value, startsAt and endsAt: where they sit, what rules without a condition over time
/// write there, and how `Alert(json:envelopes:)` reads them back, from this release and from an earlier one.
@Suite struct AlertJSONTests {
    /// The window alert of `EngineTests.windowRule` fired by three failures at 0 s, 60.5 s and 120.25 s.
    static func windowAlert() throws -> Alert {
        var engine = try EngineTests.engine(EngineTests.windowRule)
        let fired = EngineTests.run(
            &engine,
            [
                (0, try EngineTests.failure("a")), (60.5, try EngineTests.failure("b")),
                (120.25, try EngineTests.failure("c")),
            ]
        )
        return try #require(fired[2].first)
    }

    @Test func windowAlertIsFiringWithNoValueAndStartsWhenItFired() throws {
        let alert = try Self.windowAlert()
        #expect(alert.status == .firing)
        #expect(alert.value == nil)
        #expect(alert.startsAt == alert.firedAt)
        #expect(alert.endsAt == nil)
        let text = alert.jsonString
        let newPart = """
            "firedAt":"2026-11-24T10:02:00.250Z","status":"firing","value":null,\
            "startsAt":"2026-11-24T10:02:00.250Z","endsAt":null,"events":[
            """
        #expect(text.contains(newPart), "\(text)")
    }

    @Test func valueIsWrittenAsJSONNumbersAre() throws {
        var alert = try Self.windowAlert()
        alert.value = 486
        #expect(alert.jsonString.contains(#","value":486,"startsAt":"#), "\(alert.jsonString)")
        alert.value = 0.375
        #expect(alert.jsonString.contains(#","value":0.375,"startsAt":"#), "\(alert.jsonString)")
    }

    @Test func resolvedAlertRoundTripsThroughItsJSON() throws {
        var alert = try Self.windowAlert()
        alert.status = .resolved
        alert.value = 0.35
        alert.startsAt = EngineTests.at(30)
        alert.endsAt = EngineTests.at(600.5)
        let read = try #require(Alert(json: alert.jsonString, envelopes: alert.envelopesJSON))
        #expect(read.status == .resolved)
        #expect(read.value == 0.35)
        #expect(read.startsAt == EngineTests.at(30))
        #expect(read.endsAt == EngineTests.at(600.5))
        #expect(read.firedAt == alert.firedAt)
        #expect(read.jsonString == alert.jsonString)
        #expect(read.jsonString.contains(#""startsAt":"2026-11-24T10:00:30.000Z","endsAt":"2026-11-24T10:10:00.500Z""#))
    }

    @Test func firingAlertRoundTripsWithNulls() throws {
        let alert = try Self.windowAlert()
        let read = try #require(Alert(json: alert.jsonString, envelopes: alert.envelopesJSON))
        #expect(read.status == .firing)
        #expect(read.value == nil)
        #expect(read.startsAt == alert.firedAt)
        #expect(read.endsAt == nil)
        #expect(read.jsonString == alert.jsonString)
    }

    /// Alerts an earlier release stored in the outbox have none of the four fields.
    @Test func alertJSONWithoutTheNewFieldsReadsAsFiringFromFiredAt() throws {
        let old = """
            {"id":"0b7f","rule":"sip-failures","description":"three failures within five minutes",\
            "key":{"destination":"+622150996455"},"count":1,"match":null,"firstAt":"2026-11-24T10:00:00.000Z",\
            "lastAt":"2026-11-24T10:02:00.250Z","firedAt":"2026-11-24T10:02:00.250Z",\
            "events":[{"eventId":"c","sipCode":486}]}
            """
        let read = try #require(Alert(json: old))
        #expect(read.status == .firing)
        #expect(read.value == nil)
        #expect(read.startsAt == EngineTests.at(120.25))
        #expect(read.endsAt == nil)
        #expect(read.events.count == 1)
        #expect(
            read.jsonString.contains(
                #""firedAt":"2026-11-24T10:02:00.250Z","status":"firing","value":null,"#
                    + #""startsAt":"2026-11-24T10:02:00.250Z","endsAt":null,"events":[{"eventId":"c","sipCode":486}]}"#
            ),
            "\(read.jsonString)"
        )
    }
}
