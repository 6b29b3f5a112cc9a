import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Looks at processes a hook left behind.
enum ProcessProbe {
    /// True when no process (not even a zombie) has this pid: `kill(pid, 0)` fails with ESRCH.
    static func isGone(_ pid: pid_t) -> Bool {
        kill(pid, 0) == -1 && errno == ESRCH
    }

    /// True when no process is left in the process group `pgid`.
    static func isGroupEmpty(_ pgid: pid_t) -> Bool {
        kill(-pgid, 0) == -1 && errno == ESRCH
    }

    /// The one-letter state of /proc/PID/status (`S`, `R`, `Z`, …), nil when there is no such process.
    static func state(_ pid: pid_t) -> Character? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("State:") })
        else { return nil }
        return line.dropFirst("State:".count).first { !$0.isWhitespace }
    }

    /// Makes this process the reaper of its orphaned descendants (`PR_SET_CHILD_SUBREAPER`), so a hook's
    /// grandchild killed with the hook can be reaped and its exit status read here. Without it, orphans go to
    /// PID 1, which in some sandboxes never reaps them. `prctl` is variadic in C, so it is called through dlsym.
    static func becomeChildSubreaper() -> Bool {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "prctl") else { return false }
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        let prctl = unsafeBitCast(symbol, to: Prctl.self)
        return prctl(36, 1, 0, 0, 0) == 0  // PR_SET_CHILD_SUBREAPER
    }

    /// How a reaped process ended.
    enum Ending: Equatable {
        case exited(Int32)
        case signaled(Int32)
    }

    /// Waits for `pid` (a child of this process, e.g. an orphan adopted as subreaper) to end and reaps it.
    static func reap(_ pid: pid_t, timeout: Duration = .seconds(10)) async throws -> Ending {
        let deadline = ContinuousClock.now + timeout
        while true {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                let signal = status & 0x7f
                return signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
            }
            guard result == 0 else {
                throw TestDeadline(description: "waitpid(\(pid)) failed: errno \(errno)")
            }
            guard ContinuousClock.now < deadline else {
                throw TestDeadline(description: "process \(pid) still alive after \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}
