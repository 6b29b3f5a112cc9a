import Testing

@testable import CallWatch

@Suite struct SmokeTests {
    @Test func shippedRulesLoad() throws {
        let ruleSet = try RulesLoader.load(path: "rules.yaml")
        #expect(ruleSet.rules.count == 4)
    }
}
