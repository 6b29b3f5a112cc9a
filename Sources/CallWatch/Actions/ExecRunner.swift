import Foundation
import Logging
import Subprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Runs an `exec` action: argv started directly (never through a shell), in its own process group, with the
/// alert JSON on stdin, a timeout that sends SIGTERM to the group and SIGKILL `killGrace` later.
public struct ExecRunner: Sendable {
    /// How much of stdout and stderr is kept for the log.
    public static let outputLimit = 4096

    public var killGrace: Duration
    public var logger: Logger

    public init(killGrace: Duration = .seconds(5), logger: Logger) {
        self.killGrace = killGrace
        self.logger = logger
        Self.ignoreBrokenPipe
    }

    /// A hook that exits without reading its stdin makes writing the alert fail with EPIPE; without this, the
    /// default SIGPIPE action would kill the whole daemon instead.
    private static let ignoreBrokenPipe: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()

    public struct Invocation: Sendable {
        public var argv: [String]
        public var environment: [String: String]
        public var stdin: String?
        public var workdir: String?
        public var timeout: Duration
    }

    /// The action's argv, environment and stdin, rendered from the alert's shared `rendering`.
    public static func invocation(for action: ExecAction, rendering: AlertRendering) -> Invocation {
        let context = rendering.context
        var environment = rendering.environment
        for (name, template) in action.env { environment[name] = context.render(template) }
        return Invocation(
            argv: action.command.map { withoutNUL(context.render($0)) },
            environment: environment,
            stdin: action.stdin == .alert ? rendering.json : nil,
            workdir: action.workdir,
            timeout: action.timeout
        )
    }

    /// `text` without its NUL characters: an environment value or argument is a C string, and a NUL from an event
    /// would otherwise stop the hook from starting at all.
    static func withoutNUL(_ text: String) -> String {
        text.utf8.contains(0) ? String(text.unicodeScalars.filter { $0 != "\0" }.map(Character.init)) : text
    }

    /// The daemon's own environment as `NAME=value` C-string rows, read once: a hook inherits it.
    static let inheritedEnvironment: [(name: String, row: [UInt8])] = ProcessInfo.processInfo.environment
        .sorted { $0.key < $1.key }
        .map { (name: $0.key, row: Array("\($0.key)=\($0.value)\0".utf8)) }

    /// The hook's whole environment: the inherited rows, with `overrides` replacing or adding variables. Rows are
    /// built directly (Subprocess's `.inherit.updating` re-reads and re-parses the process environment per spawn).
    static func environmentRows(_ overrides: [String: String]) -> [[UInt8]] {
        var rows: [[UInt8]] = []
        rows.reserveCapacity(inheritedEnvironment.count + overrides.count)
        for (name, row) in inheritedEnvironment where overrides[name] == nil { rows.append(row) }
        for (name, value) in overrides {
            guard !name.isEmpty, !name.utf8.contains(UInt8(ascii: "=")), !name.utf8.contains(0) else { continue }
            rows.append(Array("\(name)=\(withoutNUL(value))\0".utf8))
        }
        return rows
    }

    public func run(_ invocation: Invocation, metadata: Logger.Metadata) async -> AttemptResult {
        guard let program = invocation.argv.first, !program.isEmpty else {
            return .failure(reason: "empty command")
        }
        let executable: Executable = program.contains("/") ? .path(FilePath(program)) : .name(program)
        var options = PlatformOptions()
        options.processGroupID = 0
        options.teardownSequence = [.gracefulShutDown(toProcessGroup: true, allowedDurationToNextStep: killGrace)]
        let input = invocation.stdin
        let hookPID = PIDCell()
        let deadline = ContinuousClock.now + invocation.timeout
        let configuration = Configuration(
            executable: executable,
            arguments: Arguments(Array(invocation.argv.dropFirst())),
            environment: .custom(Self.environmentRows(invocation.environment)),
            workingDirectory: invocation.workdir.map { FilePath($0) },
            platformOptions: options
        )
        // The hook runs in a task of its own so that a timeout frees the exec slot at once: cancelling it starts
        // Subprocess's teardown (SIGTERM to the group, SIGKILL `killGrace` later), which runs on in that task.
        let (finishes, finish) = AsyncStream.makeStream(of: Finish.self, bufferingPolicy: .bufferingOldest(1))
        let execution = Task {
            do {
                let record = try await Subprocess.run(
                    configuration,
                    input: .inputWriter,
                    output: .sequence,
                    error: .sequence
                ) { execution in
                    hookPID.value.withLock { $0 = execution.processIdentifier.value }
                    async let fed: Void = Self.feed(input, to: execution.standardInputWriter)
                    async let out = Self.collect(execution.standardOutput)
                    async let err = Self.collect(execution.standardError)
                    let collected = try await (out, err)
                    await fed
                    return collected
                }
                finish.yield(
                    .exited(
                        ExecutionRecord(
                            status: record.terminationStatus,
                            stdout: record.closureResult.0,
                            stderr: record.closureResult.1
                        )
                    )
                )
            } catch {
                finish.yield(.failedToStart(error))
            }
            finish.finish()
        }
        let timer = Task {
            try? await Task.sleep(until: deadline, clock: .continuous)
            finish.yield(Task.isCancelled ? .cutOff : .timedOut)
        }
        var iterator = finishes.makeAsyncIterator()
        let first = await withTaskCancellationHandler {
            await iterator.next() ?? .cutOff
        } onCancel: {
            timer.cancel()
        }
        timer.cancel()
        switch first {
        case .exited(let result):
            var logMetadata = metadata
            if !result.stdout.isEmpty { logMetadata["stdout"] = .string(result.stdout) }
            if !result.stderr.isEmpty { logMetadata["stderr"] = .string(result.stderr) }
            if result.status.isSuccess {
                logger.debug("exec action succeeded", metadata: logMetadata)
                return .success
            }
            logMetadata["status"] = .string(result.status.description)
            logger.warning("exec action failed", metadata: logMetadata)
            return .retryable(reason: "command \(result.status)", retryAfter: nil)
        case .timedOut:
            execution.cancel()
            // The hook may exit on SIGTERM leaving children that ignore it in its process group: they get the
            // SIGKILL the hook would have got when the grace period ends.
            let group = hookPID.value.withLock { $0 }
            let killAt = deadline + killGrace
            Task {
                try? await Task.sleep(until: killAt, clock: .continuous)
                if group > 0, kill(-group, 0) == 0 { kill(-group, SIGKILL) }
            }
            logger.warning("exec action timed out", metadata: metadata)
            return .timeout(reason: "timed out after \(invocation.timeout)")
        case .cutOff:
            // Shutdown past its grace: the hook is stopped (SIGTERM, then SIGKILL) and the action stays pending.
            execution.cancel()
            await execution.value
            logger.warning("exec action cut off by shutdown; it runs again on the next start", metadata: metadata)
            return .failure(reason: "cut off by shutdown")
        case .failedToStart(let error):
            logger.warning("exec action could not start", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            return .failure(reason: "cannot run \(program): \(error)")
        }
    }

    /// How a hook's run ended, whichever came first.
    enum Finish: Sendable {
        case exited(ExecutionRecord)
        case failedToStart(any Error)
        case timedOut
        case cutOff
    }

    struct ExecutionRecord: Sendable {
        var status: TerminationStatus
        var stdout: String
        var stderr: String
    }

    /// Writes the alert to the hook's stdin, then closes it. A hook may exit without reading: the write then fails
    /// with EPIPE, which is not an error. (Subprocess's own `input: .string` never closes the pipe after a failed
    /// write and traps on the leaked descriptor.)
    static func feed(_ input: String?, to writer: StandardInputWriter) async {
        if let input { _ = try? await writer.write(Array(input.utf8)) }
        try? await writer.finish()
    }

    /// Keeps the first 4 KiB of a stream and drains the rest, so a chatty hook never blocks on a full pipe.
    static func collect(_ sequence: SubprocessOutputSequence) async throws -> String {
        var kept: [UInt8] = []
        for try await buffer in sequence {
            guard kept.count < outputLimit else { continue }
            buffer.withUnsafeBytes { bytes in
                kept.append(contentsOf: bytes.prefix(outputLimit - kept.count))
            }
        }
        return String(decoding: kept, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// The hook's pid (its process group), learned inside the Subprocess body and needed after a timeout.
private final class PIDCell: Sendable {
    let value = Mutex<pid_t>(0)
}
