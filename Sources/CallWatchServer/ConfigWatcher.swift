import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

/// Reloads on SIGHUP and when the rules file changes. The file is polled by path (device, inode, size, mtime),
/// so an editor that saves by rename or a `git checkout` that replaces the file is still seen.
struct ConfigWatcher: Service {
    let reloader: ConfigReloader
    let interval: Duration

    struct Stamp: Equatable {
        var inode: UInt64
        var device: UInt64
        var size: Int64
        var modified: Double
    }

    static func stamp(_ path: String) -> Stamp? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Stamp(
            inode: UInt64(info.st_ino),
            device: UInt64(info.st_dev),
            size: Int64(info.st_size),
            modified: Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        )
    }

    func run() async throws {
        await withDiscardingTaskGroup { group in
            group.addTask {
                for await _ in await UnixSignalsSequence(trapping: .sighup).cancelOnGracefulShutdown() {
                    await reloader.reload(reason: "SIGHUP")
                }
            }
            group.addTask {
                var last = Self.stamp(reloader.path)
                while !Task.isCancelled && !Task.isShuttingDownGracefully {
                    try? await Task.sleep(for: interval)
                    let current = Self.stamp(reloader.path)
                    // A missing file (mid-replace) is not a change yet: wait for it to come back.
                    guard let current, current != last else { continue }
                    last = current
                    await reloader.reload(reason: "file changed")
                }
            }
            await withGracefulShutdownHandler {
                try? await gracefulShutdown()
            } onGracefulShutdown: {
            }
            group.cancelAll()
        }
    }
}
