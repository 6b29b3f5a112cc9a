import Testing

@testable import CallWatch

/// A rule's regular expression is evaluated on the journal's writer; one that backtracks exponentially must not
/// hold it (and every request behind it) for seconds or hours.
@Suite struct RegexBudgetTests {
    /// Without a budget, `(a+)+$` over 40 `a`s and a `!` takes hours (27 of them: ~5 s).
    static let evil = String(repeating: "a", count: 40) + "!"

    @Test(.timeLimit(.minutes(1)))
    func aCatastrophicMatchIsAbandonedAsNoMatch() throws {
        let regex = try CompiledRegex("(a+)+$")
        #expect(!regex.contains(in: Self.evil))
        #expect(regex.firstMatch(in: Self.evil) == nil)
        // The budget does not change ordinary answers.
        #expect(regex.contains(in: "xaaa"))
        #expect(regex.firstMatch(in: "xaaa") == "aaa")
    }

    @Test(.timeLimit(.minutes(1)))
    func aSequencePatternIsBounded() throws {
        let regex = try CompiledRegex("(1+)+2")
        #expect(regex.firstMatch(in: String(repeating: "1", count: 40) + "3") == nil)
        #expect(regex.firstMatch(in: "9112") == "112")
    }

    @Test(arguments: [
        ("(a+)+$", "(a+)+"),
        ("^(\\d*x?)*$", "(\\d*x?)*"),
        ("(?:ab+){2,}", "(?:ab+){2,}"),
        ("((ab)*c)+", "((ab)*c)+"),
        ("([0-9]+-)+x", "([0-9]+-)+"),
        ("(a|b+)*", "(a|b+)*"),
    ])
    func nestedRepetitionIsFound(pattern: String, nested: String) {
        #expect(CompiledRegex.nestedRepetition(in: pattern) == nested)
    }

    @Test(arguments: [
        "a+b*", "^\\+44", "(ab)+", "(a?)+", "[(+)]+", "\\(a+\\)+", "^(CALL_[A-Z]+)$", "(a{2})+", "(x)(y+)", "",
    ])
    func patternsWithoutNestingPass(pattern: String) {
        #expect(CompiledRegex.nestedRepetition(in: pattern) == nil, "\(pattern)")
    }

    @Test func checkWarnsAboutNestedRepetition() {
        let yaml = """
            version: 1
            rules:
              - name: slow
                when: {callStatus: CALL_DISCONNECTED, destination: {regex: '(a+)+$'}}
                actions: [log: {message: hung up}]
              - name: digits
                sequence: {field: dtmf, pattern: '(1+)+2', within: 30s}
                actions: [log: {message: typed}]
            """
        let warnings = DiagnosticsTests.diagnostics(yaml).filter { $0.message.contains("repeats a group") }
        #expect(warnings.count == 2, "\(warnings)")
        #expect(warnings.allSatisfy { $0.severity == .warning })
        #expect(warnings.first?.message.contains("'(a+)+'") == true)
    }
}
