import Foundation
import Logging
import Testing

@testable import CallWatchServer

@Suite struct MediaTypeTests {
    @Test(arguments: [
        "application/json", "application/json; charset=utf-8", "Application/JSON", " application/json ;charset=UTF-8",
        "application/vnd.8x8+json",
    ])
    func jsonMediaTypesAreAccepted(_ contentType: String) {
        #expect(IngestEndpoint.isJSON(contentType))
    }

    @Test(arguments: ["text/plain", "application/x-www-form-urlencoded", "application/jsonp", "json", ""])
    func otherMediaTypesAreNot(_ contentType: String) {
        #expect(!IngestEndpoint.isJSON(contentType))
    }
}

@Suite struct LineLogHandlerTests {
    static func line(_ format: ServeConfiguration.LogFormat) -> String {
        LineLogHandler.line(
            format,
            time: Date(timeIntervalSince1970: 1_767_694_645.375),
            level: .warning,
            label: "callwatch",
            metadata: ["rule": "sip-failures", "alert": "9f1c", "hb.request.id": .stringConvertible(42)],
            message: "exec action failed"
        )
    }

    /// A newline in an event's field (in metadata or the message) cannot start a forged line of its own.
    @Test func controlCharactersInATextLineAreEscaped() {
        let line = LineLogHandler.line(
            .text,
            time: Date(timeIntervalSince1970: 1_767_694_645.375),
            level: .info,
            label: "callwatch",
            metadata: ["key": "destination=+65\n2026-01-06T10:17:25.375Z critical callwatch: forged\r\u{1B}[31m"],
            message: "fired\nsecond \\ line"
        )
        #expect(line.split(separator: "\n").count == 1)
        #expect(
            line == "2026-01-06T10:17:25.375Z info callwatch: key=destination=+65\\n2026-01-06T10:17:25.375Z "
                + "critical callwatch: forged\\r\\u{1B}[31m fired\\nsecond \\\\ line\n"
        )
    }

    @Test func textLineHasTimeLevelLabelSortedMetadataThenMessage() {
        #expect(
            Self.line(.text)
                == "2026-01-06T10:17:25.375Z warning callwatch: alert=9f1c hb.request.id=42 rule=sip-failures "
                + "exec action failed\n"
        )
    }

    @Test func jsonLineIsOneObjectWithTheFixedMembersFirst() {
        #expect(
            Self.line(.json)
                == #"{"time":"2026-01-06T10:17:25.375Z","level":"warning","label":"callwatch","#
                + #""message":"exec action failed","alert":"9f1c","hb.request.id":"42","rule":"sip-failures"}"#
                + "\n"
        )
    }
}
