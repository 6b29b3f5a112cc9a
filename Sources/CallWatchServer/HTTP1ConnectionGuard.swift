import NIOCore
import NIOHTTP1

/// Between NIO's HTTP/1 codec and the HTTPTypes conversion, which drops what these need: the request's version
/// and whether it keeps the connection alive.
///
/// - A response goes out in its request's version, and a request that does not keep the connection alive
///   (HTTP/1.0 without `Connection: keep-alive`, or `Connection: close`) gets `Connection: close` and the
///   connection is closed once the response is written, so a client reading to EOF sees one.
/// - A request the parser refuses (a header block over the limits, malformed framing) is answered — 431 for
///   headers too large, 400 otherwise — and the connection is closed at once. Without this the refused
///   connection stayed open for as long as the client kept it, and enough of them exhausted the daemon's file
///   descriptors.
final class HTTP1ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Version and keep-alive of each request read and not yet answered, oldest first.
    private var requests: [(version: HTTPVersion, keepAlive: Bool)] = []
    private var closeAfterResponse = false
    private var responseStarted = false
    /// Set once a refused request is answered: what arrives after is read and dropped until the connection closes.
    private var lingering = false
    private var lingerTimeout: Scheduled<Void>?
    static let lingerTime = TimeAmount.seconds(2)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if lingering { return }
        if case .head(let head) = unwrapInboundIn(data) {
            requests.append((head.version, head.isKeepAlive))
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.code >= 200:
            responseStarted = true
            if !requests.isEmpty {
                let request = requests.removeFirst()
                head.version = request.version
                if !request.keepAlive {
                    closeAfterResponse = true
                    head.headers.replaceOrAdd(name: "connection", value: "close")
                } else if request.version == .http1_0 {
                    head.headers.replaceOrAdd(name: "connection", value: "keep-alive")
                }
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end:
            responseStarted = false
            guard closeAfterResponse else {
                context.write(data, promise: promise)
                return
            }
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            context.writeAndFlush(data, promise: written)
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        default:
            context.write(data, promise: promise)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if lingering { return }  // what the decoder says about the bytes drained after a refusal
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !responseStarted else {
            context.close(promise: nil)
            return
        }
        let status: HTTPResponseStatus =
            parserError == .headerOverflow ? .requestHeaderFieldsTooLarge : .badRequest
        let head = HTTPResponseHead(
            version: .http1_1,
            status: status,
            headers: ["connection": "close", "content-length": "0"]
        )
        lingering = true
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            self.lingeringClose(context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        lingerTimeout?.cancel()
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if lingering, case ChannelEvent.inputClosed = event {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Closing with the client's unread bytes still in the socket makes the kernel reset the connection, and a
    /// reset can discard the answer before the client reads it. So the sending side is closed first and what the
    /// client still sends is read and dropped, until it closes too or `lingerTime` passes.
    private func lingeringClose(context: ChannelHandlerContext) {
        lingerTimeout = context.eventLoop.assumeIsolated().scheduleTask(in: Self.lingerTime) {
            context.close(promise: nil)
        }
        let halfClosed = context.eventLoop.makePromise(of: Void.self)
        context.close(mode: .output, promise: halfClosed)
        halfClosed.futureResult.assumeIsolated().whenFailure { _ in context.close(promise: nil) }
    }
}
