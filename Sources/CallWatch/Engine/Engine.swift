import Foundation

/// Evaluates events against a rule set. A value type with no I/O: the caller passes the time (receive time in
/// `serve`, the event's timestamp in `replay`/`test`), so every behaviour is testable without sleeping.
public struct Engine: Sendable {
    public private(set) var ruleSet: RuleSet
    var runtimes: [RuleRuntime]
    let index: RuleIndex
    let sequenceRules: [Int]

    /// What one event did.
    public struct Evaluation: Sendable {
        /// Alerts to act on, in rule order.
        public var fired: [Alert] = []
        /// Alerts a cooldown held back (counted, not acted on).
        public var suppressed: [Alert] = []
        /// Rules whose `when` matched, in rule order.
        public var matchedRules: [Int] = []
    }

    public init(ruleSet: RuleSet) {
        self.ruleSet = ruleSet
        self.runtimes = ruleSet.rules.map(RuleRuntime.init)
        self.index = RuleIndex(rules: ruleSet.rules)
        self.sequenceRules = ruleSet.rules.indices.filter { ruleSet.rules[$0].sequence != nil }
    }

    /// A new engine for `ruleSet` that keeps the state of every rule whose name and state definition are
    /// unchanged (SPEC §5 hot reload).
    public init(ruleSet: RuleSet, carryingStateFrom previous: Engine) {
        self.init(ruleSet: ruleSet)
        var old: [String: RuleRuntime] = [:]
        for runtime in previous.runtimes { old[runtime.rule.name] = runtime }
        for index in runtimes.indices {
            let rule = runtimes[index].rule
            if let kept = old[rule.name], kept.rule.stateSignature == rule.stateSignature {
                runtimes[index].states = kept.states
            }
        }
    }

    public mutating func evaluate(_ event: CallEvent, at now: Date) -> Evaluation {
        var evaluation = Evaluation()
        if !sequenceRules.isEmpty, case .string(let status) = event[.callStatus], status == "CALL_DISCONNECTED" {
            for index in sequenceRules { runtimes[index].dropSequence(for: event) }
        }
        index.forEachCandidate(event) { ruleIndex in
            guard runtimes[ruleIndex].rule.predicate.matches(event) else { return }
            evaluation.matchedRules.append(ruleIndex)
        }
        guard !evaluation.matchedRules.isEmpty else { return evaluation }
        evaluation.matchedRules.sort()
        for ruleIndex in evaluation.matchedRules {
            switch runtimes[ruleIndex].apply(event, at: now) {
            case .none: break
            case .fired(let alert): evaluation.fired.append(alert)
            case .suppressed(let alert): evaluation.suppressed.append(alert)
            }
        }
        return evaluation
    }

    /// Rebuilds state from one journaled event after a restart (see `RuleRuntime.replay`); fires nothing.
    public mutating func replay(_ event: CallEvent, at now: Date, recorded: Set<String>) {
        if !sequenceRules.isEmpty, case .string(let status) = event[.callStatus], status == "CALL_DISCONNECTED" {
            for index in sequenceRules { runtimes[index].dropSequence(for: event) }
        }
        index.forEachCandidate(event) { ruleIndex in
            guard runtimes[ruleIndex].rule.predicate.matches(event) else { return }
            runtimes[ruleIndex].replay(event, at: now, recorded: recorded)
        }
    }

    /// Number of live keys across all rules (what bounded memory means here).
    public var stateCount: Int { runtimes.reduce(0) { $0 + $1.states.count } }

    /// Sweeps expired keys now (the engine also does this on its own as events arrive).
    public mutating func sweep(at now: Date) {
        for index in runtimes.indices { runtimes[index].sweep(at: now) }
    }
}

extension Engine {
    /// Index of the rule named `name` in the current rule set.
    public func ruleIndex(named name: String) -> Int? {
        ruleSet.rules.firstIndex { $0.name == name }
    }
}
