/**
 * Secrets written inline in a janee config.yaml (`auth: { type: bearer, key: sk_… }`,
 * as older examples show): find them, and take them out of the YAML document through
 * its own API so every comment and the key order stay as the user wrote them.
 */
import { INLINE_SECRET_KEYS, type ParsedConfigFile } from '../config/load.js';
import { JaneeError } from '../errors.js';
import { AUTH_TYPES, type AuthType } from '../config/types.js';
import { parseBaseUrl } from '../config/url.js';
import { isValidFieldValue } from '../vault/payload.js';

interface InlineMove {
  service: string;
  origin: string;
  /** Plaintext, in memory only. */
  fields: Record<string, string>;
  /** Document paths to delete. */
  remove: (string | number)[][];
  /** Set auth.type (when it was missing). */
  setType?: AuthType;
  /** The service had no auth map at all (secret at service level): add `auth: { type }`. */
  addAuth?: boolean;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function problem(service: string, message: string): JaneeError {
  return new JaneeError(
    'MIGRATE_INLINE',
    `services.${service}: ${message}; nothing was changed`,
    'move this secret by hand: `janee add` it, then delete it from config.yaml',
  );
}

/** Finds every inline secret. Throws (naming the service, never a value) on one that cannot be moved. */
export function findInlineSecrets(config: unknown): InlineMove[] {
  if (!isObj(config) || !isObj(config['services'])) return [];
  const moves: InlineMove[] = [];
  for (const [name, svc] of Object.entries(config['services'])) {
    if (!isObj(svc)) continue;
    const auth = svc['auth'];
    const authMap = isObj(auth) ? auth : undefined;
    const found: { path: (string | number)[]; key: string; value: unknown }[] = [];
    for (const [k, v] of Object.entries(svc)) if (INLINE_SECRET_KEYS.has(k)) found.push({ path: ['services', name, k], key: k, value: v });
    if (authMap)
      for (const [k, v] of Object.entries(authMap))
        if (INLINE_SECRET_KEYS.has(k)) found.push({ path: ['services', name, 'auth', k], key: k, value: v });
    if (found.length === 0) continue;

    const rawType = authMap ? authMap['type'] : typeof auth === 'string' ? auth : undefined;
    const type = (rawType ?? 'bearer') as string;
    if (!(AUTH_TYPES as readonly string[]).includes(type))
      throw problem(name, `auth type ${JSON.stringify(String(type)).slice(0, 40)} is not one janee knows (${AUTH_TYPES.join(', ')})`);
    if (typeof svc['baseUrl'] !== 'string') throw problem(name, 'no baseUrl, so the secret cannot be bound to an origin');
    let origin: string;
    try {
      origin = parseBaseUrl(svc['baseUrl']).origin;
    } catch (e) {
      throw problem(name, `baseUrl: ${e instanceof JaneeError ? e.message : 'invalid'}`);
    }
    const str = (v: unknown, key: string): string => {
      const s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
      if (s === undefined || !isValidFieldValue(s))
        throw problem(name, `${key} is not a usable secret (empty, not text, with control characters, or longer than 96 KiB)`);
      return s;
    };
    const remove = found.map((f) => f.path);
    let fields: Record<string, string>;
    if (type === 'basic') {
      const pw = found.filter((f) => f.key === 'password');
      const secret = pw.length === 1 ? pw[0] : found.length === 1 ? found[0] : undefined;
      if (!secret) throw problem(name, `${found.length} secret keys for auth type basic; expected one password`);
      const user = authMap?.['username'] ?? svc['username'];
      if (typeof user !== 'string' || user === '') throw problem(name, 'auth type basic needs a username next to the password');
      fields = { username: user, password: str(secret.value, secret.key) };
      if (authMap && 'username' in authMap) remove.push(['services', name, 'auth', 'username']);
      if ('username' in svc) remove.push(['services', name, 'username']);
    } else {
      if (found.length !== 1)
        throw problem(name, `${found.length} secret keys (${found.map((f) => f.key).join(', ')}); janee sends one credential per service`);
      fields = { token: str(found[0]?.value, found[0]?.key ?? 'key') };
    }
    const move: InlineMove = { service: name, origin, fields, remove };
    if (!authMap) move.addAuth = true;
    else if (authMap['type'] === undefined) move.setType = type as AuthType;
    if (!authMap) move.setType = type as AuthType;
    moves.push(move);
  }
  return moves;
}

/** Applies the moves to the document: the secrets go, comments and order stay. */
export function removeInlineSecrets(doc: ParsedConfigFile['doc'], moves: InlineMove[]): void {
  for (const m of moves) {
    for (const p of m.remove) doc.deleteIn(p);
    if (m.addAuth) {
      const node = doc.createNode({ type: m.setType ?? 'bearer' }) as unknown as { flow?: boolean };
      node.flow = true;
      doc.setIn(['services', m.service, 'auth'], node);
    } else if (m.setType) {
      doc.setIn(['services', m.service, 'auth', 'type'], m.setType);
    }
  }
}
