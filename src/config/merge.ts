/**
 * config.yaml: three-way merge by service (and by top-level key), for the git
 * merge driver (`janee vault merge`, which also handles config.yaml because
 * `janee add` changes both files). Done in the document API so ours keeps its
 * comments and order. A service changed differently on both sides is a
 * conflict: no field-level guessing in a security policy.
 */
import { JaneeError } from '../errors.js';
import { parseConfigText, validateConfig } from './load.js';

type Js = Record<string, unknown>;

interface YamlPair {
  key: unknown;
  value: unknown;
}
interface YamlMapLike {
  items: YamlPair[];
}

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v as Js)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as Js)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'undefined';
}

function keyName(p: YamlPair): unknown {
  const k = p.key as { value?: unknown } | string | null;
  return k && typeof k === 'object' ? k.value : k;
}

function isMapLike(n: unknown): n is YamlMapLike {
  return (
    typeof n === 'object' &&
    n !== null &&
    Array.isArray((n as YamlMapLike).items) &&
    (n as YamlMapLike).items.every((i) => typeof i === 'object' && i !== null && 'key' in i)
  );
}

export function mergeConfigText(
  file: string,
  baseText: string | undefined,
  oursText: string,
  theirsText: string,
): { text: string; changes: string[] } {
  const a = parseConfigText(file, oursText);
  const b = parseConfigText(file, theirsText);
  const asObj = (v: unknown): Js => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Js) : {});
  const o = asObj(baseText === undefined ? {} : parseConfigText(file, baseText).doc.toJS());
  const ja = asObj(a.doc.toJS());
  const jb = asObj(b.doc.toJS());
  const conflicts: string[] = [];
  const changes: string[] = [];

  const decide = (vo: unknown, va: unknown, vb: unknown, what: string): 'ours' | 'theirs' | undefined => {
    const so = stable(vo);
    const sa = stable(va);
    const sb = stable(vb);
    if (sa === sb || sb === so) return 'ours';
    if (sa === so) return 'theirs';
    conflicts.push(`${what} changed on both sides`);
    return undefined;
  };

  // Top-level keys other than services.
  for (const k of new Set([...Object.keys(o), ...Object.keys(ja), ...Object.keys(jb)])) {
    if (k === 'services') continue;
    if (decide(o[k], ja[k], jb[k], k) !== 'theirs') continue;
    if (jb[k] === undefined) a.doc.delete(k);
    else a.doc.set(k, b.doc.get(k, true));
    changes.push(`${k} (theirs)`);
  }

  const so = asObj(o['services']);
  const sa = asObj(ja['services']);
  const sb = asObj(jb['services']);
  const theirsMap = b.doc.get('services', true);
  let oursMap = a.doc.get('services', true);
  for (const name of new Set([...Object.keys(so), ...Object.keys(sa), ...Object.keys(sb)])) {
    const get = (m: Js) => (Object.hasOwn(m, name) ? m[name] : undefined);
    if (decide(get(so), get(sa), get(sb), `services.${name}`) !== 'theirs') continue;
    changes.push(`${name} (theirs)`);
    if (get(sb) === undefined) {
      a.doc.deleteIn(['services', name]);
      continue;
    }
    const pair = isMapLike(theirsMap) ? theirsMap.items.find((p) => keyName(p) === name) : undefined;
    if (!pair) throw new JaneeError('CONFIG_MERGE_FAILED', `config merge: cannot take services.${name} from the incoming side`);
    if (!isMapLike(oursMap)) {
      a.doc.set('services', a.doc.createNode({}));
      oursMap = a.doc.get('services', true);
    }
    const items = (oursMap as YamlMapLike).items;
    const at = items.findIndex((p) => keyName(p) === name);
    if (at >= 0) items[at] = pair;
    else items.push(pair);
  }
  if (conflicts.length) {
    throw new JaneeError(
      'CONFIG_MERGE_CONFLICT',
      `config merge conflict: ${conflicts.join('; ')}`,
      'edit config.yaml by hand (it is plain text): `git checkout --ours` or `--theirs` it, or merge the service by hand, then `git add` it',
    );
  }
  const text = a.doc.toString();
  validateConfig(parseConfigText(file, text), file); // never hand git an invalid config
  return { text, changes };
}
