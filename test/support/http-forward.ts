import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';

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
      headers: incoming.headers,
    },
    (response) => {
      outgoing.writeHead(response.statusCode ?? 502, response.headers);
      onResponse?.(response);
      response.pipe(outgoing);
    },
  );
  forwarded.on('error', () => outgoing.destroy());
  if (body) forwarded.end(body);
  else incoming.pipe(forwarded);
}
