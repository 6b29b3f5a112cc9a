// A plain driver for profilers (valgrind --tool=callgrind counts instructions repeatably on this shared machine):
//   engine-profile RULES CORPUS MODE COUNT
//     RULES:  shipped | generated        CORPUS: realistic | non-matching
//     MODE:   evaluate | decode+evaluate | decode
// Runs one untimed pass over the corpus first, then COUNT events, and prints wall time per event.
//   engine-profile tick absent|ratio TICKS
//     1,000,000 idle keys of one condition rule plus TICKS batches of 100 keys due 10 ms apart; times each
//     `advance(to:)` at a batch's deadline and prints the median and the slowest.
//   engine-profile memory KEYS EVENTS_PER_KEY small|full
//     Builds KEYS keys of a ratio rule (`by: [destination]`), then the same events alone, and prints heap
//     (`mallinfo2`) and RSS bytes per key: in a process without the benchmark plugin's malloc interposer.
import CallWatch
import EngineFixtures
import Foundation

let arguments = CommandLine.arguments

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

if arguments.count == 4, arguments[1] == "tick", let ticks = Int(arguments[3]) {
    let rules = arguments[2] == "ratio" ? ConditionFixtures.ratioByCallRule : ConditionFixtures.absentRule
    let built = ContinuousClock.now
    let fixture = ConditionFixtures.TickFixture(ruleSet: rules, idleKeys: 1_000_000, duePerTick: 100, ticks: ticks)
    print("\(fixture.engine.stateCount) keys built in \(ContinuousClock.now - built)")
    var times: [Double] = []
    var alerts = 0
    for _ in 0..<ticks {
        let start = ContinuousClock.now
        alerts += fixture.tick().count
        times.append(seconds(ContinuousClock.now - start) * 1e6)
    }
    times.sort()
    print(
        "tick \(arguments[2]): \(ticks) ticks, \(alerts) alerts, \(fixture.engine.stateCount) keys left, "
            + "min \(Int(times[0])) µs, median \(Int(times[ticks / 2])) µs, p99 \(Int(times[ticks * 99 / 100])) µs, "
            + "max \(Int(times[ticks - 1])) µs"
    )
    exit(0)
}

if arguments.count == 5, arguments[1] == "memory", let keys = Int(arguments[2]), let perKey = Int(arguments[3]),
    let shape = ConditionFixtures.EventShape(rawValue: arguments[4])
{
    let before = ConditionFixtures.MemoryReading.now
    var engine: Engine? = ConditionFixtures.keyedEngine(
        ruleSet: ConditionFixtures.ratioByDestinationRule,
        keys: keys,
        eventsPerKey: perKey,
        shape: shape
    )
    let after = ConditionFixtures.MemoryReading.now
    let measure = engine!.conditionMeasureBytes
    print(
        "engine, \(engine!.stateCount) keys × \(perKey) \(shape) events: heap \((after.heap - before.heap) / keys) B/key, "
            + "RSS \((after.resident - before.resident) / keys) B/key, measures \(measure / keys) B/key"
    )
    engine = nil
    let again = ConditionFixtures.MemoryReading.now
    var events: [CallEvent]? = ConditionFixtures.keptEvents(keys: keys, eventsPerKey: perKey, shape: shape)
    let kept = ConditionFixtures.MemoryReading.now
    print("the same events alone: heap \((kept.heap - again.heap) / keys) B/key (\(events!.count) events)")
    events = nil
    exit(0)
}

guard arguments.count == 5, let count = Int(arguments[4]) else {
    print("usage: engine-profile shipped|generated realistic|non-matching evaluate|decode+evaluate|decode COUNT")
    print("       engine-profile tick absent|ratio TICKS")
    print("       engine-profile memory KEYS EVENTS_PER_KEY small|full")
    exit(2)
}
let rules = arguments[1] == "generated" ? Fixtures.generatedRules : Fixtures.shippedRules
let corpus = arguments[2] == "non-matching" ? Fixtures.nonMatching : Fixtures.realistic
let harness = EngineHarness(ruleSet: rules, corpus: corpus)
harness.dryRun(label: "\(arguments[1]) rules, \(arguments[2]) events")

var sink = 0
let start = ContinuousClock.now
switch arguments[3] {
case "decode":
    for _ in 0..<count { sink &+= harness.decodeNext().identity.utf8.count }
case "decode+evaluate":
    for _ in 0..<count { sink &+= harness.decodeAndEvaluateNext() }
default:
    for _ in 0..<count { sink &+= harness.evaluateNext() }
}
let elapsed = ContinuousClock.now - start
let nanos = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
print(
    "\(arguments[3]): \(count) events, \(Int(nanos / Double(count))) ns/event, \(Int(Double(count) / nanos * 1e9)) events/s (\(sink))"
)
