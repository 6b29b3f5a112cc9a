import ArgumentParser
import CallWatch
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `callwatch silence add|list|expire`: silences through the running daemon's API, with the credentials of its
/// rules file (`server.auth`), so they are stored, shared and in force at once.
struct SilenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "silence",
        abstract: "Add, list and expire silences on the running daemon.",
        subcommands: [Add.self, List.self, Expire.self]
    )

    /// Where the daemon listens and how to authenticate, from the rules file (or `--url`).
    struct Target: ParsableArguments {
        @OptionGroup var options: ConfigOption

        @Option(help: "The daemon's base URL (default: from server.listen in the rules file).")
        var url: String?

        func request(_ method: String, _ path: String, body: JSONValue? = nil) async throws -> (Int, JSONValue?) {
            let ruleSet: RuleSet
            do {
                ruleSet = try RulesLoader.load(path: options.path)
            } catch {
                for diagnostic in error.diagnostics { printError(diagnostic.description) }
                throw ExitCode.failure
            }
            let server = ruleSet.server
            let host = ["0.0.0.0", "::", ""].contains(server.host) ? "127.0.0.1" : server.host
            let base = url ?? "http://\(host.contains(":") ? "[\(host)]" : host):\(server.port)"
            guard let target = URL(string: base + path) else {
                printError("callwatch: invalid URL '\(base + path)'")
                throw ExitCode.failure
            }
            var request = URLRequest(url: target)
            request.httpMethod = method
            request.timeoutInterval = 10
            switch server.auth {
            case .authorization(let value)?: request.setValue(value, forHTTPHeaderField: "Authorization")
            case .basic(let username, let password)?:
                let token = Data("\(username):\(password)".utf8).base64EncodedString()
                request.setValue("Basic \(token)", forHTTPHeaderField: "Authorization")
            case .header(let name, let value)?: request.setValue(value, forHTTPHeaderField: name)
            case nil: break
            }
            if let body {
                request.httpBody = Data(JSONWriter.string(body).utf8)
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            let data: Data
            let response: URLResponse
            do {
                (data, response) = try await URLSession.shared.data(for: request)
            } catch {
                printError("callwatch: cannot reach the daemon at \(base): \(error.localizedDescription)")
                throw ExitCode.failure
            }
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            return (status, try? JSONParser.parse(String(decoding: data, as: UTF8.self)))
        }

        /// The answer's `error`, or its status.
        static func failure(_ status: Int, _ json: JSONValue?) -> String {
            json?.objectValue?["error"]?.stringValue ?? "HTTP \(status)"
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mute a rule's alerts, or those whose key fields match, for a time; prints the silence's id."
        )

        @OptionGroup var target: Target

        @Option(help: "Only this rule's alerts.")
        var rule: String?

        @Option(
            name: .customLong("match"),
            help: "FIELD=VALUE, FIELD!=VALUE, FIELD=~RE or FIELD!~RE on the alert's key fields (repeatable)."
        )
        var matchers: [String] = []

        @Option(name: .customLong("for"), help: "How long from now (e.g. 2h).")
        var duration: String?

        @Option(help: "When it ends (ISO 8601).")
        var until: String?

        @Option(help: "Why (required).")
        var comment: String

        @Option(help: "Who (default: $USER).")
        var author: String?

        func run() async throws {
            let now = Date()
            let endsAt: Date
            switch (duration.flatMap(Units.duration), until.flatMap(Timestamp.parse)) {
            case (let length?, nil) where until == nil: endsAt = now.addingTimeInterval(length.seconds)
            case (nil, let end?) where duration == nil: endsAt = end
            default:
                printError("callwatch: give one of --for D (e.g. 2h) or --until TIME (ISO 8601)")
                throw ExitCode.validationFailure
            }
            let silence: Silence
            do {
                silence = try Silence(
                    rule: rule,
                    matchers: try matchers.map { text throws(SilenceError) in try Silence.Matcher(parsing: text) },
                    startsAt: now,
                    endsAt: endsAt,
                    comment: comment,
                    author: author ?? ProcessInfo.processInfo.environment["USER"] ?? ""
                )
            } catch {
                printError("callwatch: \(error)")
                throw ExitCode.validationFailure
            }
            let (status, json) = try await target.request("POST", "/api/v1/silences", body: silence.json)
            guard status == 200, let id = json?.objectValue?["id"]?.stringValue else {
                printError("callwatch: silence refused: \(Target.failure(status, json))")
                throw ExitCode.failure
            }
            print(id)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the active and pending silences: ID STATE ENDS RULE MATCHERS COMMENT (AUTHOR)."
        )

        @OptionGroup var target: Target

        @Flag(help: "Include expired silences.")
        var all = false

        func run() async throws {
            let (status, json) = try await target.request("GET", "/api/v1/silences" + (all ? "?all=true" : ""))
            guard status == 200, case .array(let silences)? = json else {
                printError("callwatch: \(Target.failure(status, json))")
                throw ExitCode.failure
            }
            for element in silences {
                guard let object = element.objectValue else { continue }
                func text(_ name: String) -> String { object[name]?.stringValue ?? "" }
                var matchers: [String] = []
                if case .array(let list)? = object["matchers"] {
                    for case .object(let matcher) in list {
                        let field = matcher["field"]?.stringValue ?? ""
                        let op = matcher["op"]?.stringValue ?? ""
                        let value = matcher["value"]?.stringValue ?? ""
                        matchers.append(field + op + value)
                    }
                }
                let rule = text("rule").isEmpty ? "-" : text("rule")
                let matched = matchers.isEmpty ? "-" : matchers.joined(separator: ",")
                let why = text("comment") + " (" + text("author") + ")"
                let fields: [String] = [text("id"), text("state"), text("endsAt"), rule, matched, why]
                print(fields.joined(separator: " "))
            }
        }
    }

    struct Expire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a silence now.")

        @OptionGroup var target: Target

        @Argument(help: "The silence's id.")
        var id: String

        func run() async throws {
            let (status, json) = try await target.request("DELETE", "/api/v1/silences/\(id)")
            guard status == 200 else {
                printError("callwatch: \(Target.failure(status, json))")
                throw ExitCode.failure
            }
            print("expired \(id)")
        }
    }
}
