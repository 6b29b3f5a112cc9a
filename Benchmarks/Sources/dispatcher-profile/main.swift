// A plain driver for profilers: `dispatcher-profile exec|http|slack COUNT` sends one burst of COUNT alerts through
// ActionDispatcher (default limits; EXEC_CONCURRENCY / HTTP_CONCURRENCY override them) and prints alerts/s and the
// process's peak RSS. `slack` goes through a receiver (`notify: [chat]`). `group COUNT` runs the whole pipeline
// (a SQLite store in a temporary directory): COUNT events each fire an alert of one rule with
// `group: {wait: 1h}` notifying a Slack and a webhook receiver; one tick past the wait sends the group, and the sink
// must see one request per receiver.
import CallWatch
import DispatcherFixtures
import Foundation

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
let modes = ["exec", "http", "slack", "group"]
guard arguments.count == 3, let count = Int(arguments[2]), modes.contains(arguments[1]) else {
    print("usage: dispatcher-profile exec|http|slack|group COUNT")
    exit(2)
}
let mode = arguments[1]
let sink = HTTPSink()
let sinkURL = "http://127.0.0.1:\(sink.port)"
let actions = DispatcherFixtures.actions(sinkURL: sinkURL)
let alerts = mode == "group" ? [] : DispatcherFixtures.alerts(count: count, rule: "bench-\(mode)")
ResidentMemory.resetPeak()
let before = ResidentMemory.currentKiB
let start = ContinuousClock.now
var configuration = ActionDispatcher.Configuration()
let environment = ProcessInfo.processInfo.environment
if let limit = environment["EXEC_CONCURRENCY"].flatMap(Int.init) { configuration.execConcurrency = limit }
if let limit = environment["HTTP_CONCURRENCY"].flatMap(Int.init) { configuration.httpConcurrency = limit }
switch mode {
case "group":
    try await groupedBurst(count: count, sinkURL: sinkURL, sink: sink, configuration: configuration)
default:
    await burst(
        alerts,
        actions: mode == "exec" ? actions.exec : mode == "http" ? actions.http : actions.slack,
        label: mode,
        configuration: configuration
    )
}
let elapsed = ContinuousClock.now - start
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
let cpu =
    Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    / 1e6
print(
    "\(mode): \(count) alerts in \(String(format: "%.2f", seconds)) s = \(Int(Double(count) / seconds)) alerts/s; "
        + "process CPU \(String(format: "%.2f", cpu)) s; RSS before the burst \(before / 1024) MiB, peak during it \(ResidentMemory.peakKiB / 1024) MiB; sink saw \(sink.requests) requests"
)
