// The loopback upstream every bench calls: a small JSON answer shaped like a list API's,
// keep-alive held long enough that no bench reconnects mid-run. Port 0.
import http from 'node:http';

/** Starts it on 127.0.0.1:0; `url` has no trailing slash; `close()` stops it. */
export async function startBenchUpstream() {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"object":"list","data":[{"id":"ch_1","amount":100}]}');
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}
