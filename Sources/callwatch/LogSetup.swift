import CallWatchServer
import Logging

enum LogSetup {
    static func logger(label: String) -> Logger {
        var logger = Logger(label: label) { LineLogHandler(label: $0, format: .text) }
        logger.logLevel = .info
        return logger
    }
}
