/**
 * undici's Agent without the rest of undici. `import { Agent } from 'undici'` loads
 * its root module, which also builds fetch, WebSocket, EventSource, the caches, the
 * mock agents and the proxy agents — about 730 KB of the bundle, parsed at the first
 * forwarded call and kept in memory for the life of serve or the agent. The gate
 * needs only Agent and its `request()`; these three files are that, about 350 KB.
 *
 * undici's root module attaches request/stream/pipeline/upgrade/connect to
 * Dispatcher.prototype (`Object.assign(Dispatcher.prototype, api)`); doing the same
 * here is what makes `agent.request()` exist. It is idempotent, so a later import of
 * the root module (by anything else) changes nothing. undici has no `exports` map,
 * so these paths are part of what it ships; the version is pinned in package.json.
 */
import AgentClass from 'undici/lib/dispatcher/agent.js';
import DispatcherClass from 'undici/lib/dispatcher/dispatcher.js';
import api from 'undici/lib/api/index.js';

if (typeof (DispatcherClass.prototype as { request?: unknown }).request !== 'function') Object.assign(DispatcherClass.prototype, api);

export const Agent = AgentClass;
