import CallWatch
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// One connection's ingest requests: refuses on the head alone when it can (before reading the body), collects the
/// body, and answers an admitted event when the journal's writer has committed its batch. Anything else passes
/// through untouched.
final class IngestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        case idle
        case forwarding
        case discarding  // the rest of a request already refused
        case collecting(head: HTTPRequest, guard: RequestGuard, body: ByteBuffer?, oversize: Bool)
    }

    private let endpoint: IngestEndpoint
    private var state = State.idle

    init(endpoint: IngestEndpoint) {
        self.endpoint = endpoint
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch (part, state) {
        case (.head(let head), _):
            if head.method == .post, endpoint.serves(head.path) {
                let requestGuard = endpoint.requestGuard
                let remoteAddress = context.channel.remoteAddress
                if let refusal = endpoint.refusal(head, requestGuard: requestGuard, remoteAddress: remoteAddress) {
                    state = .discarding
                    write(refusal, keepAlive: !Self.asksToClose(head), context: context)
                } else {
                    state = .collecting(head: head, guard: requestGuard, body: nil, oversize: false)
                }
            } else {
                state = .forwarding
                context.fireChannelRead(data)
            }
        case (.body(var chunk), .collecting(let head, let requestGuard, var body, var oversize)):
            state = .idle  // `body` the only reference while it grows
            if oversize || (body?.readableBytes ?? 0) + chunk.readableBytes > requestGuard.maxBody {
                oversize = true
                body = nil
            } else if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
            state = .collecting(head: head, guard: requestGuard, body: body, oversize: oversize)
        case (.end, .collecting(let head, let requestGuard, let body, let oversize)):
            state = .idle
            let admission = endpoint.admit(body ?? ByteBuffer(), oversize: oversize, requestGuard: requestGuard)
            answer(admission, keepAlive: !Self.asksToClose(head), context: context)
        case (.body, .discarding):
            break
        case (.end, .discarding):
            state = .idle
        case (.end, _):
            state = .idle
            context.fireChannelRead(data)
        default:
            context.fireChannelRead(data)
        }
    }

    private func answer(_ admission: IngestEndpoint.Admission, keepAlive: Bool, context: ChannelHandlerContext) {
        switch admission {
        case .refused(let answer):
            write(answer, keepAlive: keepAlive, context: context)
        case .admitted(let event, let bytes):
            let promise = context.eventLoop.makePromise(of: Pipeline.IngestOutcome.self)
            endpoint.pipeline.submit(event, body: bytes) { promise.completeWith($0) }
            promise.futureResult.assumeIsolated().whenComplete { result in
                self.write(IngestEndpoint.Answer(result), keepAlive: keepAlive, context: context)
            }
        }
    }

    private func write(_ answer: IngestEndpoint.Answer, keepAlive: Bool, context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(answer.head)), promise: nil)
        context.write(wrapOutboundOut(.body(answer.body)), promise: nil)
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }

    /// `Connection: close`: this is the client's last request on the connection.
    static func asksToClose(_ head: HTTPRequest) -> Bool {
        guard let value = head.headerFields[.connection] else { return false }
        return value.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "close" }
    }
}
