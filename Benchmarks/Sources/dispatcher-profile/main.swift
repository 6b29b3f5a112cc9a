// A plain driver for profilers: `dispatcher-profile exec|http COUNT` sends one burst of COUNT alerts through
// ActionDispatcher (default limits; EXEC_CONCURRENCY / HTTP_CONCURRENCY override them) and prints alerts/s and the process's peak RSS.
import CallWatch
import DispatcherFixtures
import Foundation

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[2]), ["exec", "http"].contains(arguments[1]) else {
    print("usage: dispatcher-profile exec|http COUNT")
    exit(2)
}
let sink = HTTPSink()
let actions = DispatcherFixtures.actions(sinkURL: "http://127.0.0.1:\(sink.port)")
let alerts = DispatcherFixtures.alerts(count: count, rule: "bench-\(arguments[1])")
ResidentMemory.resetPeak()
let before = ResidentMemory.currentKiB
let start = ContinuousClock.now
var configuration = ActionDispatcher.Configuration()
let environment = ProcessInfo.processInfo.environment
if let limit = environment["EXEC_CONCURRENCY"].flatMap(Int.init) { configuration.execConcurrency = limit }
if let limit = environment["HTTP_CONCURRENCY"].flatMap(Int.init) { configuration.httpConcurrency = limit }
await burst(
    alerts,
    actions: arguments[1] == "exec" ? actions.exec : actions.http,
    label: arguments[1],
    configuration: configuration
)
let elapsed = ContinuousClock.now - start
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
var usage = rusage()
getrusage(RUSAGE_SELF.rawValue, &usage)
let cpu =
    Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    / 1e6
print(
    "\(arguments[1]): \(count) alerts in \(String(format: "%.2f", seconds)) s = \(Int(Double(count) / seconds)) alerts/s; "
        + "process CPU \(String(format: "%.2f", cpu)) s; RSS before the burst \(before / 1024) MiB, peak during it \(ResidentMemory.peakKiB / 1024) MiB; sink saw \(sink.requests) requests"
)
