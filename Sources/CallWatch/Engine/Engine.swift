import Foundation

/// Evaluates events against a rule set. A value type with no I/O: the caller passes the time (receive time in
/// `serve`, the event's timestamp in `replay`/`test`), so every behaviour is testable without sleeping.
public struct Engine: Sendable {
    public private(set) var ruleSet: RuleSet
    var runtimes: [RuleRuntime]
    /// The condition rules' state (`ratio`, `aggregate`, `absent`, `gauge`), and each rule's slot in it.
    var conditions: [ConditionRuntime]
    let conditionOfRule: [Int?]
    /// Condition rules a reload removed or redefined, whose firing alerts `resolveRetired(at:)` resolves.
    var retired: [ConditionRuntime] = []
    /// Whether the watch has begun (the clock of an `absent` rule without `by` starts then).
    var clockStarted = false
    let index: RuleIndex
    let hasSequenceRules: Bool
    /// Calls whose events a sequence rule matched, with those rules: a disconnect drops the call's buffered digits
    /// in just these rules instead of asking every sequence rule. Entries older than the longest sequence `within`
    /// hold only expired digits and are swept once the map has doubled.
    var bufferedCalls: [String: (rules: [Int], lastAt: Date)] = [:]
    var bufferedCallsSweepAt = 1024
    let longestSequence: TimeInterval
    /// The index's candidates for the event at hand; kept so its storage is reused from event to event.
    var candidates: [Int] = []
    /// Each rule's `when` among the distinct ones: rules that differ only in `by`, window or actions share one, and
    /// it is evaluated once per event however many of them are candidates.
    let predicateOfRule: [Int]
    let predicates: [Predicate]
    /// Per distinct predicate: its verdict on the event numbered `verdictEvent` (stale for earlier events).
    var verdicts: [Bool]
    var verdictEvent: [UInt64]
    var eventNumber: UInt64 = 0

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
        self.conditions = ruleSet.rules.compactMap(ConditionRuntime.init)
        var slot = 0
        self.conditionOfRule = ruleSet.rules.map { rule in
            guard rule.condition != nil else { return nil }
            defer { slot += 1 }
            return slot
        }
        self.index = RuleIndex(rules: ruleSet.rules)
        self.hasSequenceRules = ruleSet.rules.contains { $0.sequence != nil }
        self.longestSequence = ruleSet.rules.compactMap { $0.sequence?.within.seconds }.max() ?? 0
        var distinct: [Predicate: Int] = [:]
        var predicates: [Predicate] = []
        self.predicateOfRule = ruleSet.rules.map { rule in
            if let known = distinct[rule.predicate] { return known }
            predicates.append(rule.predicate)
            distinct[rule.predicate] = predicates.count - 1
            return predicates.count - 1
        }
        self.predicates = predicates
        self.verdicts = Array(repeating: false, count: predicates.count)
        self.verdictEvent = Array(repeating: 0, count: predicates.count)
    }

    /// Whether rule `ruleIndex`'s `when` matches the event numbered `eventNumber`, evaluating each distinct
    /// predicate at most once per event.
    @inline(__always)
    mutating func matches(_ ruleIndex: Int, _ event: CallEvent) -> Bool {
        let slot = predicateOfRule[ruleIndex]
        if verdictEvent[slot] == eventNumber { return verdicts[slot] }
        let verdict = predicates[slot].matches(event)
        verdicts[slot] = verdict
        verdictEvent[slot] = eventNumber
        return verdict
    }

    /// A new engine for `ruleSet` that keeps the state of every rule whose name and state definition are
    /// unchanged (what a hot reload does).
    public init(ruleSet: RuleSet, carryingStateFrom previous: Engine) {
        self.init(ruleSet: ruleSet)
        var old: [String: (index: Int, runtime: RuleRuntime)] = [:]
        for (index, runtime) in previous.runtimes.enumerated() { old[runtime.rule.name] = (index, runtime) }
        var oldConditions: [String: ConditionRuntime] = [:]
        for condition in previous.conditions { oldConditions[condition.rule.name] = condition }
        for slot in conditions.indices {
            let rule = conditions[slot].rule
            if let kept = oldConditions[rule.name], kept.rule.stateSignature == rule.stateSignature {
                conditions[slot] = kept
                oldConditions[rule.name] = nil
            }
        }
        retired = oldConditions.values.sorted { $0.rule.name < $1.rule.name }
        clockStarted = previous.clockStarted
        var keptAt: [Int: Int] = [:]  // previous rule index → index here
        for index in runtimes.indices {
            let rule = runtimes[index].rule
            if let kept = old[rule.name], kept.runtime.rule.stateSignature == rule.stateSignature {
                runtimes[index].states = kept.runtime.states
                keptAt[kept.index] = index
            }
        }
        for (callId, entry) in previous.bufferedCalls {
            let rules = entry.rules.compactMap { keptAt[$0] }
            if !rules.isEmpty { bufferedCalls[callId] = (rules, entry.lastAt) }
        }
    }

    public mutating func evaluate(_ event: CallEvent, at now: Date) -> Evaluation {
        var evaluation = Evaluation()
        if !conditions.isEmpty { advanceConditions(to: now, into: &evaluation.fired) }
        dropBufferedDigits(for: event)
        candidates.removeAll(keepingCapacity: true)
        index.collectCandidates(event, into: &candidates)
        eventNumber &+= 1
        for position in candidates.indices where matches(candidates[position], event) {
            evaluation.matchedRules.append(candidates[position])
        }
        guard !evaluation.matchedRules.isEmpty else { return evaluation }
        evaluation.matchedRules.sortAndRemoveDuplicates()
        noteBufferedDigits(evaluation.matchedRules, event, at: now)
        for ruleIndex in evaluation.matchedRules {
            if let slot = conditionOfRule[ruleIndex] {
                if let alert = conditions[slot].apply(event, at: now) { evaluation.fired.append(alert) }
                continue
            }
            switch runtimes[ruleIndex].apply(event, at: now) {
            case .none: break
            case .fired(let alert): evaluation.fired.append(alert)
            case .suppressed(let alert): evaluation.suppressed.append(alert)
            }
        }
        return evaluation
    }

    /// Rebuilds state from one journaled event after a restart (see `RuleRuntime.replay`): rules without a
    /// condition fire nothing; condition rules return what they notify (see `restoreConditions`), for the caller to
    /// compare with what was recorded.
    @discardableResult
    public mutating func replay(_ event: CallEvent, at now: Date, recorded: Set<String>) -> [Alert] {
        var notified: [Alert] = []
        if !conditions.isEmpty { advanceConditions(to: now, into: &notified) }
        dropBufferedDigits(for: event)
        candidates.removeAll(keepingCapacity: true)
        index.collectCandidates(event, into: &candidates)
        eventNumber &+= 1
        var matched: [Int] = []
        for position in candidates.indices where matches(candidates[position], event) {
            matched.append(candidates[position])
        }
        matched.sortAndRemoveDuplicates()
        noteBufferedDigits(matched, event, at: now)
        for ruleIndex in matched {
            if let slot = conditionOfRule[ruleIndex] {
                if let alert = conditions[slot].apply(event, at: now) { notified.append(alert) }
            } else {
                runtimes[ruleIndex].replay(event, at: now, recorded: recorded)
            }
        }
        return notified
    }

    /// Carries every condition rule to `now` (each key evaluated at its own deadlines), starting the watch first.
    mutating func advanceConditions(to now: Date, into alerts: inout [Alert]) {
        if !clockStarted { startClock(at: now) }
        for slot in conditions.indices {
            guard let next = conditions[slot].deadlines.nextDeadline, next <= now else { continue }
            conditions[slot].advance(to: now, into: &alerts)
        }
    }

    /// The watch begins at `now` (`serve` starting, a reload adding a rule, the first event offline): the clock of
    /// each `absent` rule without `by` that is not yet watching starts here.
    public mutating func startClock(at now: Date) {
        clockStarted = true
        for slot in conditions.indices { conditions[slot].start(at: now) }
    }

    /// Before replaying the journal from `since` after a restart: sets the condition rules' lifecycles from the
    /// alerts the store recorded (oldest first), and keeps them from judging until each measure is whole again.
    public mutating func restoreConditions(from recorded: [Alert], replayingFrom since: Date) {
        for slot in conditions.indices { conditions[slot].restore(from: recorded, replayingFrom: since) }
    }

    /// The journal has been replayed: condition rules judge every evaluation from here on.
    public mutating func endRestore() {
        for slot in conditions.indices { conditions[slot].endRestore() }
    }

    /// After a reload: a resolved notification for each alert still firing of a condition rule that was removed or
    /// redefined (its state is gone, so nothing else would ever end it).
    public mutating func resolveRetired(at now: Date) -> [Alert] {
        defer { retired = [] }
        return retired.flatMap { $0.resolveFiring(at: now) }
    }

    /// The earliest instant at which a condition rule's outcome can change with no new event.
    public var nextDeadline: Date? {
        conditions.compactMap(\.deadlines.nextDeadline).min()
    }

    /// Whether rule `rule`'s condition alert for `key` (the `by` values) that began firing at `startsAt` still fires.
    public func isFiring(rule: String, key: [String], startsAt: Date) -> Bool {
        guard let runtime = conditions.first(where: { $0.rule.name == rule }),
            case .firing(let since) = runtime.states[RuleKey(key)]?.lifecycle.state
        else { return false }
        return ConditionTime.milliseconds(since) == ConditionTime.milliseconds(startsAt)
    }

    /// The names of the condition rules.
    public var conditionRuleNames: [String] { conditions.map(\.rule.name) }

    /// A disconnect drops the call's buffered DTMF digits in the sequence rules that matched its events.
    mutating func dropBufferedDigits(for event: CallEvent) {
        guard !bufferedCalls.isEmpty, case .string(let status) = event[.callStatus], status == "CALL_DISCONNECTED",
            case .string(let callId) = event[.callId], let buffered = bufferedCalls.removeValue(forKey: callId)
        else { return }
        for index in buffered.rules { runtimes[index].dropSequence(for: event) }
    }

    /// Remembers which sequence rules among `matched` may now hold digits of the event's call.
    mutating func noteBufferedDigits(_ matched: [Int], _ event: CallEvent, at now: Date) {
        guard hasSequenceRules, case .string(let callId) = event[.callId] else { return }
        for index in matched where runtimes[index].rule.sequence != nil {
            var entry = bufferedCalls[callId] ?? (rules: [], lastAt: now)
            if !entry.rules.contains(index) { entry.rules.append(index) }
            entry.lastAt = now
            bufferedCalls[callId] = entry
        }
        if bufferedCalls.count >= bufferedCallsSweepAt {
            let horizon = now.addingTimeInterval(-longestSequence)
            bufferedCalls = bufferedCalls.filter { $0.value.lastAt >= horizon }
            bufferedCallsSweepAt = max(1024, bufferedCalls.count * 2)
        }
    }

    /// Number of live keys across all rules (what bounded memory means here).
    public var stateCount: Int {
        runtimes.reduce(0) { $0 + $1.states.count } + conditions.reduce(0) { $0 + $1.states.count }
    }

    /// Heap bytes the condition rules' measures hold (their windows' buffers; not the key maps, the deadline heaps
    /// or the events kept for alerts): what a key's measure costs, for the benchmarks.
    public var conditionMeasureBytes: Int {
        conditions.reduce(0) { $0 + $1.measureBytes }
    }

    /// Time passed: condition rules are carried to `now` (only keys with a deadline due are visited) and return
    /// what they notify; each other rule drops the keys that can no longer fire when its sweep is due (at most once
    /// per its horizon, or when its key count doubled), so an idle daemon's memory shrinks too.
    @discardableResult
    public mutating func advance(to now: Date) -> [Alert] {
        var alerts: [Alert] = []
        if !conditions.isEmpty { advanceConditions(to: now, into: &alerts) }
        for index in runtimes.indices where conditionOfRule[index] == nil { runtimes[index].sweepIfDue(at: now) }
        return alerts
    }

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

extension [Int] {
    /// Ascending, each value once (the index may offer a rule once per `any` branch).
    mutating func sortAndRemoveDuplicates() {
        sort()
        var kept = 0
        for position in indices where position == 0 || self[position] != self[kept - 1] {
            self[kept] = self[position]
            kept += 1
        }
        removeLast(count - kept)
    }
}
