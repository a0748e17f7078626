import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection and are not forwarded: moto answers every call
 * with `Connection: close`, and passing that on would make the client open a new connection per call, which AWS
 * itself does not ask for (the benchmark would count TCP connects that production never makes).
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

function endToEnd(headers: IncomingMessage['headers']): IncomingMessage['headers'] {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
}

/**
 * Forwards one HTTP request to `target` (plain HTTP) and its answer back; `onResponse` sees the upstream answer
 * before it is piped. The body is the given buffer, or the incoming stream itself.
 */
export function forwardRequest(
  target: URL,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  { body, onResponse }: { body?: Buffer; onResponse?: (response: IncomingMessage) => void } = {},
): void {
  const forwarded = httpRequest(
    {
      host: target.hostname,
      port: target.port,
      path: incoming.url,
      method: incoming.method,
      headers: endToEnd(incoming.headers),
    },
    (response) => {
      outgoing.writeHead(response.statusCode ?? 502, endToEnd(response.headers));
      onResponse?.(response);
      response.pipe(outgoing);
    },
  );
  forwarded.on('error', () => outgoing.destroy());
  if (body) forwarded.end(body);
  else incoming.pipe(forwarded);
}
