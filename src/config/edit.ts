/**
 * Changes to config.yaml through the `yaml` document API, so the comments and
 * ordering a user wrote survive `janee add` and `janee remove`. Every edit
 * re-reads the file under the lock, validates the result before writing, and
 * writes atomically (keeping config.yaml.bak).
 */
import { isMap, isScalar, YAMLMap, YAMLSeq, type Document } from 'yaml';
import { JaneeError } from '../errors.js';
import { atomicWrite, ensureDir, withLock } from '../util/fsutil.js';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { parseConfigText, readConfigText, validateConfig } from './load.js';
import type { AuthSpec, JaneeConfig } from './types.js';

export const INITIAL_CONFIG = `# Janee configuration: services, policies and rate limits.
# No secrets live here (they are in the encrypted vault), so this file is safe to commit.
# See the README (config.yaml) for every field.
services:
`;

export interface NewService {
  name: string;
  baseUrl: string;
  auth: AuthSpec;
  policies?: { path: string; methods: string[]; deny?: boolean }[];
  rateLimit?: string;
}

/** Applies `fn` to the parsed document of `file` and saves it if the result validates. */
export async function editConfig<T>(file: string, fn: (doc: Document.Parsed) => T): Promise<{ result: T; config: JaneeConfig; before: string | undefined; after: string }> {
  await ensureDir(path.dirname(file));
  return withLock(file, async () => {
    const before = await readConfigText(file);
    const text = before ?? INITIAL_CONFIG;
    const parsed = parseConfigText(file, text);
    validateConfig(parsed, file); // refuse to edit a file that is already invalid
    const result = fn(parsed.doc);
    // No padding inside [ ] so untouched lines keep the common `[GET]` form.
    const out = parsed.doc.toString({ flowCollectionPadding: false });
    const config = validateConfig(parseConfigText(file, out), file);
    await atomicWrite(file, out);
    return { result, config, before, after: out };
  });
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

export function addServiceNode(doc: Document.Parsed, svc: NewService): void {
  const services = servicesMap(doc);
  if (services.has(svc.name)) {
    throw new JaneeError('CONFIG_DUPLICATE', `service "${svc.name}" already exists in config.yaml`, `pick another name, or run \`janee remove ${svc.name}\` first`);
  }
  const entry = new YAMLMap();
  entry.set('baseUrl', svc.baseUrl);
  const auth = doc.createNode({ ...svc.auth }) as YAMLMap;
  auth.flow = true;
  entry.set('auth', auth);
  if (svc.policies) {
    const list = new YAMLSeq();
    for (const p of svc.policies) {
      const rule = new YAMLMap();
      rule.set('path', p.path);
      const methods = doc.createNode(p.methods) as YAMLSeq;
      methods.flow = true;
      rule.set('methods', methods);
      if (p.deny) rule.set('deny', true);
      list.add(rule);
    }
    entry.set('policies', list);
  }
  if (svc.rateLimit) entry.set('rateLimit', svc.rateLimit);
  services.set(svc.name, entry);
}

export function removeServiceNode(doc: Document.Parsed, name: string): boolean {
  return servicesMap(doc).delete(name);
}

/**
 * Undo an edit made by editConfig: if nobody changed the file since, put the old
 * bytes back exactly; otherwise apply `fallback` (e.g. remove just our service),
 * so a concurrent writer's change is never lost.
 */
export async function undoConfigEdit(file: string, edit: { before: string | undefined; after: string }, fallback: (doc: Document.Parsed) => void): Promise<void> {
  const done = await withLock(file, async () => {
    if ((await readConfigText(file)) !== edit.after) return false;
    if (edit.before === undefined) await fs.rm(file, { force: true });
    else await atomicWrite(file, edit.before, { backup: false });
    return true;
  });
  if (!done) await editConfig(file, fallback);
}
