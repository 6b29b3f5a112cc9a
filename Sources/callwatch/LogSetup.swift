import CallWatchServer
import Logging

enum LogSetup {
    static func logger(label: String) -> Logger {
        var logger = Logger(label: label) { TextLogHandler(label: $0) }
        logger.logLevel = .info
        return logger
    }
}
