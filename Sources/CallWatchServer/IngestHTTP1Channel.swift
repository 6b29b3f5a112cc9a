import CallWatch
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1 child channel with two handlers added: `HTTP1ConnectionGuard` answers and closes what the
/// parser refuses and honours HTTP/1.0 and `Connection: close`, and `POST {server.path}` is answered by `IngestHandler`
/// on the connection's event loop, every other request goes on to the router. Through the router, per-request tasks
/// and the async channel's hand-offs cost several times the route's own work (BENCHMARKS.md, "Ingest on the event
/// loop"); the event loop does that work and hands the event to the journal's writer directly. NIO's pipelining
/// assistance keeps one request at a time per connection, whichever handler answers it, so responses stay in
/// request order. See docs/design.md, "The request path".
struct IngestHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let endpoint: IngestEndpoint

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            var limits = NIOHTTPDecoderLimitConfiguration()  // Hummingbird's defaults
            limits.maxHeaderFieldSize = 80 * 1024
            limits.maxHeaderListSize = 80 * 1024
            limits.maxHeaderFieldCount = 1000
            let pipeline = channel.pipeline.syncOperations
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: true,
                withErrorHandling: false,  // Hummingbird answers parse errors (400) after the async channel
                withOutboundHeaderValidation: false,  // HTTPTypes validate fields already
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: limits
            )
            try pipeline.addHandler(HTTP1ConnectionGuard())
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            let idleTimeout = endpoint.requestGuard.idleTimeout
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger))
            try pipeline.addHandler(IngestHandler(endpoint: endpoint))
            return try NIOAsyncChannel(
                wrappingChannelSynchronously: channel,
                configuration: .init(isOutboundHalfClosureEnabled: true)
            )
        }
    }

    func handle(value: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: value, logger: logger)
    }
}
