// A plain driver for profilers (valgrind --tool=callgrind counts instructions repeatably on this shared machine):
//   engine-profile RULES CORPUS MODE COUNT
//     RULES:  shipped | generated        CORPUS: realistic | non-matching
//     MODE:   evaluate | decode+evaluate | decode
// Runs one untimed pass over the corpus first, then COUNT events, and prints wall time per event.
import CallWatch
import EngineFixtures
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 5, let count = Int(arguments[4]) else {
    print("usage: engine-profile shipped|generated realistic|non-matching evaluate|decode+evaluate|decode COUNT")
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
