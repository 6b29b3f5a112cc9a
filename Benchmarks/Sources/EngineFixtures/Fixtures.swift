import CallWatch
import Foundation

/// The rule sets and corpora the engine benchmarks and `engine-profile` share; each is built on first use.
public enum Fixtures {
    /// The repository's rules.yaml (`CALLWATCH_RULES` overrides).
    public static let shippedRulesPath: String = {
        if let path = ProcessInfo.processInfo.environment["CALLWATCH_RULES"] { return path }
        var url = URL(fileURLWithPath: #filePath)  // <repo>/Benchmarks/Sources/EngineFixtures/Fixtures.swift
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("rules.yaml").path
    }()

    public static let shippedRules: RuleSet = {
        do {
            return try RulesLoader.load(path: shippedRulesPath, environment: [:])
        } catch {
            fatalError("\(shippedRulesPath) does not load:\n\(error)")
        }
    }()

    public static let generatedRules: RuleSet = RuleGenerator.load(
        yaml: RuleGenerator.yaml(ruleCount: 1_000),
        path: "generated-1000-rules.yaml"
    )

    /// ~2,000 masked sessions, ~10,400 events, ~2 % of sessions failing, ~10 % with DTMF.
    public static let realistic = EventCorpus(mix: .realistic, sessions: 2_000)
    /// ~2,000 sessions, 10,000 events that no event rule's `when` matches (the condition rules see 60 % of them).
    public static let nonMatching = EventCorpus(mix: .nonMatching, sessions: 2_000)
}
