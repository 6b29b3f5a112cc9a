import Foundation

/// A `#!/bin/sh` hook, written at test time, that records what callwatch gave it: its argv (one file per
/// element, byte for byte), its environment (/proc/$$/environ), its working directory and its stdin, under
/// `dir/runs/<pid>/` — one directory per run, so the runs can be counted.
struct RecordingHook {
    var arguments: [String]
    var environment: [String: String]
    var stdin: String
    var workingDirectory: String

    /// Writes `dir/hook.sh`, which records and then runs `trailer` (e.g. `exit 3`); returns its path.
    static func write(in directory: String, trailer: String = "") throws -> String {
        let path = directory + "/hook.sh"
        try ActionFixture.writeScript(
            """
            run="\(directory)/runs/$$"
            mkdir -p "$run"
            i=0
            for arg in "$@"; do
                printf '%s' "$arg" > "$run/arg.$i"
                i=$((i + 1))
            done
            cat /proc/$$/environ > "$run/environ"
            pwd > "$run/cwd"
            cat > "$run/stdin"
            \(trailer)
            """,
            to: path
        )
        return path
    }

    /// Every run recorded under `directory` (the hook's `runs` directory).
    static func runs(in directory: String) throws -> [RecordingHook] {
        let runs = try FileManager.default.contentsOfDirectory(atPath: directory)
        return try runs.map { try RecordingHook(run: directory + "/" + $0) }
    }

    /// Reads one run's directory.
    init(run directory: String) throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory)
        let count = files.filter { $0.hasPrefix("arg.") }.count
        arguments = try (0..<count).map {
            try String(contentsOfFile: "\(directory)/arg.\($0)", encoding: .utf8)
        }
        let environ = try Data(contentsOf: URL(fileURLWithPath: directory + "/environ"))
        var environment: [String: String] = [:]
        for entry in environ.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            guard let equals = text.firstIndex(of: "=") else { continue }
            environment[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        self.environment = environment
        stdin = try String(contentsOfFile: directory + "/stdin", encoding: .utf8)
        workingDirectory = try String(contentsOfFile: directory + "/cwd", encoding: .utf8)
            .trimmingCharacters(in: .newlines)
    }
}
