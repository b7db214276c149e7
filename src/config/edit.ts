/**
 * Changes to config.yaml through the `yaml` document API, so the comments and
 * ordering a user wrote survive `janee add` and `janee remove`. Every edit
 * re-reads the file under the lock, validates the result before writing, and
 * writes atomically (keeping config.yaml.bak).
 */
import { Document, isMap, isScalar, isSeq, YAMLMap, YAMLSeq, type Node, type Pair } from 'yaml';
import { JaneeError } from '../errors.js';
import { atomicWrite, ensureDir, withLock } from '../util/fsutil.js';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { parseConfigText, readConfigText, validateConfig, type ParsedConfigFile } from './load.js';
import type { AuthSpec, JaneeConfig } from './types.js';

export const INITIAL_CONFIG = `# Janee configuration: services, policies and rate limits.
# No secrets live here (they are in the encrypted vault), so this file is safe to commit.
# See the README (config.yaml) for every field.
services:
`;

interface NewRule {
  path: string;
  methods: string[];
  deny?: boolean;
}

export interface NewService {
  name: string;
  baseUrl: string;
  auth: AuthSpec;
  policies?: NewRule[];
  rateLimit?: string;
}

/** Applies `fn` to the parsed document of `file` and saves it if the result validates. */
export async function editConfig<T>(
  file: string,
  fn: (doc: Document.Parsed) => T,
): Promise<{ result: T; config: JaneeConfig; before: string | undefined; after: string }> {
  await ensureDir(path.dirname(file));
  return withLock(file, async () => {
    const before = await readConfigText(file);
    const text = before ?? INITIAL_CONFIG;
    const parsed = parseConfigText(file, text);
    validateConfig(parsed, file); // refuse to edit a file that is already invalid
    const snapshot = serviceSignatures(parsed.doc);
    const result = fn(parsed.doc);
    const out = spliceServices(text, parsed, snapshot) ?? parsed.doc.toString();
    const config = validateConfig(parseConfigText(file, out), file);
    await atomicWrite(file, out);
    return { result, config, before, after: out };
  });
}

// ---------------------------------------------------------------------------
// Minimal text edits. Re-printing the whole document would reformat every other
// service (spacing inside [ ], comment alignment), which makes noisy diffs in a
// dotfiles repo. So when only entries under `services:` changed, the original
// text is kept and only the changed entries' lines are cut, replaced or appended.
// The result is accepted only if it parses to exactly what the document API
// produced; otherwise the whole document is re-printed.

type Signatures = Map<string, string>;

function serviceItems(doc: Document): { key: string; pair: Pair<Node, Node | null> }[] | undefined {
  const root = doc.contents;
  if (!isMap(root)) return undefined;
  const services = root.get('services', true);
  if (!isMap(services)) return [];
  return (services.items as Pair<Node, Node | null>[]).map((pair) => ({ key: String(isScalar(pair.key) ? pair.key.value : ''), pair }));
}

function signature(pair: Pair<Node, Node | null>): string {
  const d = new Document();
  d.contents = new YAMLMap();
  (d.contents as unknown as YAMLMap).items.push(pair);
  return d.toString();
}

function serviceSignatures(doc: Document): Signatures | undefined {
  const items = serviceItems(doc);
  if (!items) return undefined;
  return new Map(items.map(({ key, pair }) => [key, signature(pair)]));
}

function spliceServices(text: string, parsed: ParsedConfigFile, before: Signatures | undefined): string | undefined {
  const doc = parsed.doc;
  const original = parseConfigText('(original)', text);
  const origItems = serviceItems(original.doc);
  const newItems = serviceItems(doc);
  if (!before || !origItems || !newItems) return undefined;
  // Anything outside `services:` changed → not ours to splice.
  const rootOf = (d: Document) => {
    const js = d.toJS() as Record<string, unknown> | null;
    if (js && typeof js === 'object') delete js.services;
    return JSON.stringify(js);
  };
  if (rootOf(original.doc) !== rootOf(doc)) return undefined;
  const services = (original.doc.contents as YAMLMap).get('services', true);
  if (!isMap(services) || services.flow) return undefined;

  const lines = text.split('\n');
  const lineOf = (offset: number) => original.lines.linePos(offset).line - 1; // 0-based
  const indentOf = (i: number) => (lines[i] ?? '').length - (lines[i] ?? '').trimStart().length;
  /** Lines [start, end] of an entry: its leading comment lines, key, and value. */
  const spanOf = (pair: Pair<Node, Node | null>): [number, number] => {
    const keyLine = lineOf(pair.key.range?.[0] ?? 0);
    const valueEnd = pair.value?.range?.[1] ?? pair.key.range?.[1] ?? 0;
    let end = lineOf(Math.max(0, valueEnd - 1));
    while (end + 1 < lines.length && /^\s*#/.test(lines[end + 1] ?? '') && indentOf(end + 1) > indentOf(keyLine)) end++;
    let start = keyLine;
    while (start > 0 && /^\s*#/.test(lines[start - 1] ?? '') && indentOf(start - 1) === indentOf(keyLine)) start--;
    return [start, end];
  };
  const keyIndent = origItems[0] ? indentOf(lineOf(origItems[0].pair.key.range?.[0] ?? 0)) : 2;
  const render = (pair: Pair<Node, Node | null>) =>
    signature(pair)
      .replace(/\n$/, '')
      .split('\n')
      // `methods: [GET]` as DESIGN.md and most hand-written files have it (yaml pads flow seqs).
      .map((l) => (l === '' ? l : ' '.repeat(keyIndent) + l.replace(/^(\s*methods: )\[ (.*) \]$/, '$1[$2]')));

  const replacements = new Map<number, string[] | null>(); // start line → new lines (null = delete)
  const spans = new Map<string, [number, number]>();
  for (const { key, pair } of origItems) spans.set(key, spanOf(pair));
  const newKeys = new Set(newItems.map((i) => i.key));
  for (const { key } of origItems) {
    if (!newKeys.has(key)) replacements.set((spans.get(key) as [number, number])[0], null);
  }
  const added: string[] = [];
  for (const { key, pair } of newItems) {
    const span = spans.get(key);
    if (!span) added.push(...render(pair));
    else if (signature(pair) !== before.get(key)) {
      // The comment lines above a changed entry stay as written (the document API may attach
      // them to the parent map, and would drop them from the rendered entry).
      const keyLine = lineOf(origItems.find((i) => i.key === key)?.pair.key.range?.[0] ?? 0);
      const body = render(pair);
      while (body.length && /^\s*(#.*)?$/.test(body[0] as string)) body.shift();
      replacements.set(span[0], [...lines.slice(span[0], keyLine), ...body]);
    }
  }
  // Existing entries must keep their order for a splice to be faithful.
  const kept = newItems.filter((i) => spans.has(i.key)).map((i) => i.key);
  const origOrder = origItems.map((i) => i.key).filter((k) => newKeys.has(k));
  if (kept.join('\0') !== origOrder.join('\0')) return undefined;

  const out: string[] = [];
  const lastSpanEnd = origItems.length ? Math.max(...[...spans.values()].map(([, e]) => e)) : lineOf(services.range?.[0] ?? 0) - 1;
  const servicesKeyLine = lines.findIndex((l) => /^services\s*:/.test(l));
  const insertAfter = origItems.length ? lastSpanEnd : servicesKeyLine;
  if (insertAfter < 0) return undefined;
  for (let i = 0; i < lines.length; i++) {
    const span = [...spans.values()].find(([s]) => s === i);
    if (span && replacements.has(i)) {
      const repl = replacements.get(i);
      if (repl) out.push(...repl);
      i = span[1];
      // A deleted entry takes its separating blank line with it.
      if (!repl && out[out.length - 1]?.trim() === '' && lines[i + 1]?.trim() === '') i++;
    } else out.push(lines[i] as string);
    if (i === insertAfter && added.length) out.push(...added);
  }
  const result = out.join('\n');
  try {
    const check = parseConfigText('(spliced)', result);
    if (JSON.stringify(check.doc.toJS()) !== JSON.stringify(doc.toJS())) return undefined;
  } catch {
    return undefined;
  }
  return result;
}

function servicesMap(doc: Document.Parsed): YAMLMap {
  if (!isMap(doc.contents)) (doc as Document).contents = new YAMLMap();
  const root = doc.contents as unknown as YAMLMap;
  const existing = root.get('services', true);
  if (isMap(existing)) return existing;
  const fresh = new YAMLMap();
  if (isScalar(existing) && existing.comment) fresh.comment = existing.comment;
  root.set('services', fresh);
  return fresh;
}

export function hasService(doc: Document.Parsed, name: string): boolean {
  return servicesMap(doc).has(name);
}

/** Another service whose name equals `name` but for case (`Stripe` beside `stripe`), if any. */
export function serviceDifferingInCase(doc: Document.Parsed, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const item of servicesMap(doc).items) {
    const key = isScalar(item.key) ? item.key.value : item.key;
    if (typeof key === 'string' && key !== name && key.toLowerCase() === lower) return key;
  }
  return undefined;
}

export function addServiceNode(doc: Document.Parsed, svc: NewService): void {
  const services = servicesMap(doc);
  if (services.has(svc.name)) {
    throw new JaneeError(
      'CONFIG_DUPLICATE',
      `service "${svc.name}" already exists in config.yaml`,
      `pick another name, or run \`janee remove ${svc.name}\` first`,
    );
  }
  const entry = new YAMLMap();
  entry.set('baseUrl', svc.baseUrl);
  entry.set('auth', authNode(doc, svc.auth));
  if (svc.policies) {
    const list = new YAMLSeq();
    for (const p of svc.policies) list.add(ruleNode(doc, p));
    entry.set('policies', list);
  }
  if (svc.rateLimit) entry.set('rateLimit', svc.rateLimit);
  services.set(svc.name, entry);
}

/**
 * An auth block as written to config.yaml: one flow line (`{ type: bearer }`), or when it nests,
 * a block whose nested maps and lists are flow (`headers: { X-Id: id }`, `scopes: [a, b]`).
 */
export function authNode(doc: Document, auth: AuthSpec): YAMLMap {
  const node = doc.createNode({ ...auth }) as YAMLMap;
  const nested = node.items.filter((p) => isMap(p.value) || p.value instanceof YAMLSeq);
  if (nested.length === 0) node.flow = true;
  for (const p of nested) (p.value as YAMLMap | YAMLSeq).flow = true;
  return node;
}

function ruleNode(doc: Document.Parsed, p: NewRule): YAMLMap {
  const rule = new YAMLMap();
  rule.set('path', p.path);
  const methods = doc.createNode(p.methods) as YAMLSeq;
  methods.flow = true;
  rule.set('methods', methods);
  if (p.deny) rule.set('deny', true);
  return rule;
}

/** What `janee edit` changes in one service; anything absent stays as it is. */
export interface RulesChange {
  /** Drop every rule first. */
  clearPolicies?: boolean;
  /** Replace the allow rules (the deny rules stay). */
  allow?: NewRule[];
  /** Replace the deny rules (the allow rules stay). */
  deny?: NewRule[];
  /** null removes it. */
  rateLimit?: string | null;
  testPath?: string | null;
}

/**
 * Changes the rules of service `name` in place: the rules kept keep their nodes
 * (and comments), new ones are appended. No rule left removes `policies:` (any
 * request is allowed), as for a service added without rules.
 */
export function editServiceNode(doc: Document.Parsed, name: string, change: RulesChange): void {
  const node = servicesMap(doc).get(name, true);
  if (!isMap(node)) throw new JaneeError('NOT_FOUND', `no service named "${name}" in config.yaml`, `add it with \`janee add ${name} …\``);
  if (change.clearPolicies || change.allow || change.deny) {
    const existing = node.get('policies', true);
    const items = change.clearPolicies || !isSeq(existing) ? [] : existing.items;
    const isDeny = (it: unknown) => isMap(it) && it.get('deny') === true;
    const kept = items.filter((it) => (isDeny(it) ? !change.deny : !change.allow));
    const rules = [
      ...kept,
      ...(change.allow ?? []).map((r) => ruleNode(doc, r)),
      ...(change.deny ?? []).map((r) => ruleNode(doc, { ...r, deny: true })),
    ];
    if (rules.length === 0) node.delete('policies');
    else if (isSeq(existing)) {
      existing.items = rules;
      existing.flow = false; // a one-line [ … ] list would grow into a hard-to-read wrapped one
    } else {
      const list = new YAMLSeq();
      list.items = rules;
      node.set('policies', list);
    }
  }
  for (const [key, value] of [
    ['rateLimit', change.rateLimit],
    ['testPath', change.testPath],
  ] as const) {
    if (value === null) node.delete(key);
    else if (value !== undefined) node.set(key, value);
  }
}

export function removeServiceNode(doc: Document.Parsed, name: string): boolean {
  return servicesMap(doc).delete(name);
}

/**
 * Undo an edit made by editConfig: if nobody changed the file since, put the old
 * bytes back exactly; otherwise apply `fallback` (e.g. remove just our service),
 * so a concurrent writer's change is never lost.
 */
export async function undoConfigEdit(
  file: string,
  edit: { before: string | undefined; after: string },
  fallback: (doc: Document.Parsed) => void,
): Promise<void> {
  const done = await withLock(file, async () => {
    if ((await readConfigText(file)) !== edit.after) return false;
    if (edit.before === undefined) await fs.rm(file, { force: true });
    else await atomicWrite(file, edit.before, { backup: false });
    return true;
  });
  if (!done) await editConfig(file, fallback);
}
