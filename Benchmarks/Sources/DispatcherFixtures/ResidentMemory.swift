import Foundation

/// The process's resident memory from /proc (Linux): the current size, and the high-water mark since the last
/// `resetPeak()` (writing `5` to /proc/self/clear_refs resets VmHWM), so a benchmark can report how much memory a
/// burst itself added on top of whatever the process already held.
public enum ResidentMemory {
    /// Resets the peak to the current size; false where the kernel does not allow it.
    @discardableResult
    public static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("5".utf8))) != nil
    }

    /// Current resident set in KiB (VmRSS).
    public static var currentKiB: Int { field("VmRSS") }

    /// Peak resident set in KiB since start or the last `resetPeak()` (VmHWM).
    public static var peakKiB: Int { field("VmHWM") }

    private static func field(_ name: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix(name + ":") {
            return Int(line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
                ?? 0
        }
        return 0
    }
}
