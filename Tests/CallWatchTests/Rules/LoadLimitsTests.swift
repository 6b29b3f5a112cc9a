import Foundation
import Testing

@testable import CallWatch

/// A rules file cannot take the loader down: nesting, alias expansion and the work of checking templates are
/// bounded, with a diagnostic, in `check`, at start and on reload alike (they share the loader).
@Suite struct LoadLimitsTests {
    static func rules(action: String) -> String {
        """
        version: 1
        rules:
          - name: x
            when: {callStatus: CALL_DISCONNECTED}
            actions:
              - \(action)
        """
    }

    static func nested(_ depth: Int) -> String {
        (0..<depth).map { "{{#s\($0)}}" }.joined() + "x" + (0..<depth).reversed().map { "{{/s\($0)}}" }.joined()
    }

    @Test func sectionsNestedThousandsDeepAreAnErrorNotACrash() throws {
        let error = #expect(throws: Template.ParseError.self) { try Template(Self.nested(3000)) }
        guard case .syntax(let message, let line, let column) = error else { return }
        #expect(message == "sections nest more than 32 deep here")
        #expect(line == 1)
        #expect(column == 1 + 32 * "{{#s0}}".count + 22 * 1)  // s0…s9 are 7 bytes, s10…s32 8
    }

    @Test func nestingUpToTheLimitParses() throws {
        _ = try Template(Self.nested(32))
        #expect(throws: Template.ParseError.self) { try Template(Self.nested(33)) }
    }

    @Test func setDelimiterTagsAreFollowed() throws {
        let hidden = "{{=<% %>=}}" + (0..<40).map { "<%#s\($0)%>" }.joined() + (0..<40).map { "<%/s\($0)%>" }.joined()
        #expect(throws: Template.ParseError.self) { try Template(hidden) }
        _ = try Template("{{=<% %>=}}<%#a%><%b%><%/a%>{{{c}}}")
    }

    @Test func aDeepTemplateInARulesFileIsADiagnostic() {
        let yaml = Self.rules(action: "log: {message: \"\(Self.nested(3000))\"}")
        let messages = DiagnosticsTests.errors(yaml).map(\.message)
        #expect(messages.contains { $0.contains("sections nest more than 32 deep") }, "\(messages.prefix(3))")
    }

    @Test func aTemplateHoldsAtMostTwoThousandTags() throws {
        let tags = { (count: Int) in (0..<count).map { "{{f\($0).x}}" }.joined(separator: " ") }
        let template = try Template(tags(2_000))
        #expect(template.referencedNames().count == 2_000)
        let error = #expect(throws: Template.ParseError.self) { try Template(tags(2_001)) }
        guard case .syntax(let message, _, _) = error else { return }
        #expect(message == "a template holds at most 2000 tags")
    }

    @Test(.timeLimit(.minutes(1)))
    func aFileHoldsAtMostFiftyThousandTemplateTags() {
        let message = String(repeating: "{{callId}}", count: 2_000)
        let yaml =
            Self.rules(action: "log: {message: \"\(message)\"}")
            + String(
                repeating: "\n      - log: {message: \"\(message)\"}",
                count: 29
            )
        let errors = DiagnosticsTests.errors(yaml).map(\.message)
        #expect(errors == ["the file's templates hold more than 50000 tags in all in rule 'x'"])
    }

    @Test(.timeLimit(.minutes(1)))
    func anAliasBombIsRefusedQuickly() {
        var lines = ["version: 1", "rules:", "  - name: bomb", "    when: {callStatus: CALL_DISCONNECTED}"]
        lines.append("    actions:")
        lines.append("      - http:")
        lines.append("          url: http://127.0.0.1:9/")
        lines.append("          json:")
        lines.append("            a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]")
        for level in 1...9 {
            lines.append(
                "            a\(level): &a\(level) ["
                    + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ")
                    + "]"
            )
        }
        let yaml = lines.joined(separator: "\n") + "\n"
        #expect(yaml.utf8.count < 1000)
        let messages = DiagnosticsTests.errors(yaml).map(\.message)
        #expect(messages.count == 1)
        #expect(messages.first?.hasPrefix("the file expands to more than 500000 YAML nodes") == true, "\(messages)")
    }

    @Test func aliasesWithinTheBudgetStillWork() throws {
        let yaml = """
            version: 1
            receivers:
              ops: &ops
                - log: {message: "{{alert.rule}}"}
            rules:
              - name: x
                when: {callStatus: CALL_DISCONNECTED}
                actions: *ops
            """
        let ruleSet = try RulesLoader.load(yaml: yaml, path: "rules.yaml", environment: [:])
        #expect(ruleSet.rules.count == 1)
    }

    @Test func aFileOverTheSizeLimitIsRefusedBeforeItIsRead() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("callwatch-big-\(UUID()).yaml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        let handle = try #require(FileHandle(forWritingAtPath: path))
        try handle.truncate(atOffset: UInt64(RulesLoader.maxFileBytes + 1))
        try handle.close()
        let error = #expect(throws: RulesError.self) { try RulesLoader.load(path: path, environment: [:]) }
        #expect(error?.description.contains("a rules or test file holds at most 8388608 (8 MiB)") == true)
    }
}
