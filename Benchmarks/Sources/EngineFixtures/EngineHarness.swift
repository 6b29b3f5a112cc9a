import CallWatch
import Foundation

/// One engine fed round-robin from a pre-built corpus, with a clock that only moves forward (0.5 ms of event time
/// per event, ~2,000 events/s of traffic), so windows fill and expire as they would in `serve`.
/// The benchmarks run on one thread; the class only exists so the measured closure can mutate the engine.
public final class EngineHarness: @unchecked Sendable {
    public private(set) var engine: Engine
    public let events: [CallEvent]
    public let bodies: [[UInt8]]
    private var next = 0
    private var tick = 0
    private let origin = Date(timeIntervalSince1970: 1_767_694_639)
    public private(set) var fired = 0
    public private(set) var suppressed = 0
    public private(set) var matched = 0

    public init(ruleSet: RuleSet, corpus: EventCorpus) {
        engine = Engine(ruleSet: ruleSet)
        bodies = corpus.bodies
        events = corpus.decoded()
    }

    @inline(__always)
    private func now() -> Date {
        tick &+= 1
        return origin.addingTimeInterval(Double(tick) * 0.0005)
    }

    @inline(__always)
    private func advance() -> Int {
        let index = next
        next = next + 1 == events.count ? 0 : next + 1
        return index
    }

    /// Evaluates the next pre-decoded event; returns how many alerts it fired.
    @inline(__always)
    public func evaluateNext() -> Int {
        let evaluation = engine.evaluate(events[advance()], at: now())
        return record(evaluation)
    }

    /// Decodes the next body from its bytes (as `serve` does from the request buffer) and evaluates it.
    @inline(__always)
    public func decodeAndEvaluateNext() -> Int {
        let event = decodeNext()
        return record(engine.evaluate(event, at: now()))
    }

    @inline(__always)
    public func decodeNext() -> CallEvent {
        bodies[advance()].withUnsafeBytes { bytes in
            do {
                return try CallEvent.decode(bytes)
            } catch {
                fatalError("corpus event does not decode: \(error)")
            }
        }
    }

    @inline(__always)
    private func record(_ evaluation: Engine.Evaluation) -> Int {
        if !evaluation.matchedRules.isEmpty {
            matched &+= evaluation.matchedRules.count
            fired &+= evaluation.fired.count
            suppressed &+= evaluation.suppressed.count
        }
        return evaluation.fired.count
    }

    /// How many corpus events the rules' `when` matched, fired on, or held back: printed once per benchmark so
    /// a reader can see the traffic was mostly non-firing (and the non-matching corpus really matched nothing).
    public func dryRun(label: String) {
        let before = (matched, fired, suppressed)
        for _ in events.indices { _ = evaluateNext() }
        let counts = (matched - before.0, fired - before.1, suppressed - before.2)
        FileHandle.standardError.write(
            Data(
                "\(label): \(events.count) events, \(counts.0) rule matches, \(counts.1) fired, \(counts.2) suppressed, \(engine.stateCount) live keys\n"
                    .utf8
            )
        )
    }
}
