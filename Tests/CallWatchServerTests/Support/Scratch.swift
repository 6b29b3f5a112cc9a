import Foundation

/// A directory of one test's own: its rules file, SQLite store, hook scripts and what they record.
struct Scratch: Sendable {
    let directory: String

    init() throws {
        directory =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("callwatch-e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { directory + "/" + name }

    /// Writes in place (open, truncate, write), as `echo … > file` does.
    func write(_ name: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path(name)))
    }

    /// Writes `text` to a temporary file beside `name`, then renames it over `name`, as editors that save by
    /// rename do.
    func writeByRename(_ name: String, _ text: String) throws {
        let temporary = path(".\(name).\(UUID().uuidString).tmp")
        try Data(text.utf8).write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path(name)) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: ["errno": errno])
        }
    }

    /// Deletes `name`, then creates it again, as `git checkout` replacing the file does.
    func replace(_ name: String, _ text: String) throws {
        try FileManager.default.removeItem(atPath: path(name))
        try write(name, text)
    }

    func read(_ name: String) -> String? {
        FileManager.default.contents(atPath: path(name)).map { String(decoding: $0, as: UTF8.self) }
    }

    func exists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: path(name))
    }

    /// Writes a `/bin/sh` script and returns its path. Hooks run it as `[/bin/sh, path, …]`, so the script is
    /// never executed directly (no exec bit, no "text file busy" race with other tests' children).
    func script(_ name: String, _ body: String) throws -> String {
        try write(name, "#!/bin/sh\n" + body)
        return path(name)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }
}
