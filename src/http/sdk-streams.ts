/**
 * Works around a leak in the MCP SDK (1.32.2) in JSON-response mode: for every POST
 * that carries a request, WebStandardStreamableHTTPServerTransport puts an entry
 * in its `_streamMapping` ({ resolveJson, cleanup }), resolves the HTTP response
 * when the answer is ready, and never calls `cleanup` (only the SSE path does). The
 * entry, and with it that request's Request object, headers (the bearer token
 * among them), URL and answer, lives as long as the session: about 10 KB per call,
 * 215 MB of heap after 17 500 calls on one serve --http.
 *
 * After each POST is answered, serve drops the entries that no request still
 * points at (`_requestToStreamMapping` holds the streams of calls in flight, and
 * loses a call's entry when it is answered). The fields are the SDK's private
 * ones: when they are not there (the SDK changed), nothing is done, and
 * test/http/sdk-streams.test.ts says whether the leak is still there.
 */
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

interface StreamEntry {
  resolveJson?: unknown;
}
interface WebTransportInternals {
  _streamMapping?: Map<string, StreamEntry>;
  _requestToStreamMapping?: Map<unknown, string>;
}

/** The SDK's web-standard transport inside the node one, with the private maps this needs (or undefined). */
export function streamMaps(transport: StreamableHTTPServerTransport): Required<WebTransportInternals> | undefined {
  const web = (transport as unknown as { _webStandardTransport?: WebTransportInternals })._webStandardTransport;
  if (!(web?._streamMapping instanceof Map) || !(web._requestToStreamMapping instanceof Map)) return undefined;
  return web as Required<WebTransportInternals>;
}

/** Drops the JSON-response streams already answered (see above); leaves calls in flight alone. */
export function releaseAnsweredStreams(transport: StreamableHTTPServerTransport): void {
  const maps = streamMaps(transport);
  if (maps === undefined || maps._streamMapping.size === 0) return;
  const live = new Set(maps._requestToStreamMapping.values());
  for (const [id, entry] of maps._streamMapping) {
    if (entry.resolveJson !== undefined && !live.has(id)) maps._streamMapping.delete(id);
  }
}
