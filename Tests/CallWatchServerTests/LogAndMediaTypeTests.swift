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
