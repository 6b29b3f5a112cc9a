import Foundation

extension DurabilityClient {
    /// Posts `body` (an event as `Fixture.event` builds it) until the daemon answers 200, as 8x8 retries. Returns
    /// the 200's body status (`accepted` or `duplicate`) and when the exchange that got it was sent and answered.
    func deliver(
        _ body: String,
        to url: String,
        timeout: Duration = .seconds(30)
    ) async throws -> (status: String, bracket: Bracket) {
        let deadline = ContinuousClock.now + timeout
        while true {
            let sent = Bracket.now
            if let response = await post(url, body: Data(body.utf8)) {
                let answered = Bracket.now
                if response.status == 200 {
                    let object = try JSONSerialization.jsonObject(with: response.body) as? [String: Any]
                    return (object?["status"] as? String ?? "", Bracket(sent: sent, answered: answered))
                }
                guard response.status == 503 else {
                    throw DurabilityFailure(description: "HTTP \(response.status) \(response.text) for \(body)")
                }
            }
            guard ContinuousClock.now < deadline else {
                throw DurabilityFailure(description: "no 200 within \(timeout) for \(body)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits until every action of the alert `id` is recorded as a success in the daemon's outbox.
    func waitUntilDone(_ id: String, at baseURL: String, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            // A GET that fails (a loaded machine's timeout) is asked again, until the deadline.
            let actions = ((try? await alerts(baseURL)) ?? [:])[id] ?? []
            if !actions.isEmpty, actions.allSatisfy({ $0.status == "success" }) { return }
            guard ContinuousClock.now < deadline else {
                throw DurabilityFailure(description: "the actions of \(id) did not succeed: \(actions)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

extension DurabilityDaemon {
    /// Writes `rules` to `DIRECTORY/rules.yaml` (once) and starts `callwatch serve` on it with the store
    /// `DIRECTORY/cw.db`.
    static func start(
        _ directory: String,
        rules: String,
        port: Int,
        label: String
    ) throws -> DurabilityDaemon {
        let rulesPath = directory + "/rules.yaml"
        if !FileManager.default.fileExists(atPath: rulesPath) {
            try rules.write(toFile: rulesPath, atomically: true, encoding: .utf8)
        }
        return try DurabilityDaemon(
            directory: directory,
            rules: rulesPath,
            store: directory + "/cw.db",
            port: port,
            label: label
        )
    }
}
