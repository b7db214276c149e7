/**
 * `janee vault diff-text FILE` (git textconv) and `janee vault merge %O %A %B [%P]`
 * (git merge driver). Both are run by git, with the repository root as the working
 * directory and maybe no JANEE_HOME: they need no config.yaml, only a key, from
 * JANEE_PASSPHRASE_FILE / JANEE_PASSPHRASE (or, for merge, a terminal prompt).
 *
 * Nothing plaintext is ever written: the three versions are decrypted in memory, and
 * %A is replaced (atomically) only by the re-encrypted merge.
 */
import { Command, Option } from 'clipanion';
import * as fs from 'node:fs/promises';
import { JaneeError } from '../../errors.js';
import { atomicWrite } from '../../util/fsutil.js';
import { diffTextFor } from '../../vault/diff.js';
import { parseConfigText, validateConfig } from '../../config/load.js';
import { VERSION_LINE } from '../../vault/format.js';
import { mergeVaultFiles } from '../../vault/merge.js';
import { JaneeCommand } from '../base.js';
import { info, warn } from '../io.js';
import { findPassphrase } from '../passphrase.js';

export class VaultDiffTextCommand extends JaneeCommand {
  static override paths = [['vault', 'diff-text'], ['vault', 'diff']];
  static override usage = Command.Usage({
    category: 'Dotfiles',
    description: 'Print a vault file as text for `git diff` (names, origins, times, keyed fingerprints; never a value)',
    details: `
      Used as git's textconv driver (see \`janee git setup\`). Decrypting needs the passphrase from
      JANEE_PASSPHRASE_FILE or JANEE_PASSPHRASE; without it only the header is shown. It never
      prompts and always exits 0, so \`git diff\` and \`git log -p\` keep working.
    `,
  });

  file = Option.String({ name: 'file' });

  async run(): Promise<number> {
    let bytes: Uint8Array;
    try {
      bytes = await fs.readFile(this.file);
    } catch (e) {
      this.out(`unreadable file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      return 0;
    }
    const text = await diffTextFor(bytes, async () => {
      try {
        return (await findPassphrase(this.io, { noPrompt: true }))?.passphrase;
      } catch {
        return undefined; // e.g. an unreadable JANEE_PASSPHRASE_FILE: show the header only
      }
    });
    this.context.stdout.write(text);
    return 0;
  }
}

export class VaultMergeCommand extends JaneeCommand {
  static override paths = [['vault', 'merge']];
  static override usage = Command.Usage({
    category: 'Dotfiles',
    description: 'Three-way merge of vault files, entry by entry (git merge driver: janee vault merge %O %A %B %P)',
    details: `
      Decrypts the three versions in memory with the passphrase (JANEE_PASSPHRASE_FILE,
      JANEE_PASSPHRASE, or a prompt on the terminal), merges entry by entry, re-encrypts and
      replaces OURS. When the same entry was changed differently on both sides it fails, names
      the entries, and leaves OURS untouched; nothing plaintext is written anywhere.
    `,
  });

  base = Option.String({ name: 'base' });
  ours = Option.String({ name: 'ours' });
  theirs = Option.String({ name: 'theirs' });
  pathname = Option.String({ required: false, name: 'path' });

  async run(): Promise<number> {
    const read = async (file: string, what: string): Promise<Uint8Array> => {
      try {
        return await fs.readFile(file);
      } catch (e) {
        throw new JaneeError('MERGE_UNREADABLE', `cannot read the ${what} version ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    };
    const where = this.pathname ? ` in ${this.pathname}` : '';
    const ours = await read(this.ours, 'local');
    const base = await read(this.base, 'base');
    const theirs = await read(this.theirs, 'incoming');
    if (!startsWith(ours, `${VERSION_LINE}\n`) && !startsWith(theirs, `${VERSION_LINE}\n`)) {
      // Not a vault: config.yaml, merged service by service.
      const file = this.pathname ?? 'config.yaml';
      const dec = (b: Uint8Array) => Buffer.from(b).toString('utf8');
      const merged = mergeConfigText(file, base.length ? dec(base) : undefined, dec(ours), dec(theirs));
      await atomicWrite(this.ours, merged.text, { backup: false });
      info(this.context.stderr, `config merged${where}${merged.changes.length ? `: ${merged.changes.join(', ')}` : ''}`);
      return 0;
    }
    try {
      const result = await mergeVaultFiles({
        base,
        ours,
        theirs,
        passphrase: async () => (await findPassphrase(this.io, { prompt: `vault passphrase (merging${where}): ` }))?.passphrase,
      });
      // git reads the result back from %A; no .bak beside git's temp file.
      await atomicWrite(this.ours, result.bytes, { backup: false });
      if (result.headerNote) warn(this.context.stderr, result.headerNote);
      const changed = result.changes.map((c) => `${c.name} (${c.resolution})`).join(', ');
      info(this.context.stderr, `vault merged${where}: ${result.entries} entr${result.entries === 1 ? 'y' : 'ies'}${changed ? `; ${changed}` : ''}`);
      return 0;
    } catch (e) {
      if (e instanceof JaneeError && where) {
        throw new JaneeError(e.code, `${e.message}${e.code === 'VAULT_MERGE_CONFLICT' ? where : ''}`, e.hint?.replaceAll('<vault>', this.pathname ?? '<vault>'), e.exitCode);
      }
      throw e;
    }
  }
}

function startsWith(b: Uint8Array, prefix: string): boolean {
  return Buffer.from(b.subarray(0, prefix.length)).toString('latin1') === prefix;
}

// ---------------------------------------------------------------------------
// config.yaml: three-way merge by service (and by top-level key), in the
// document API so ours keeps its comments and order. What a side added or
// changed comes over with its own comments. A service changed differently on
// both sides is a conflict: no field-level guessing in a security policy.

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
  return typeof n === 'object' && n !== null && Array.isArray((n as YamlMapLike).items) && (n as YamlMapLike).items.every((i) => typeof i === 'object' && i !== null && 'key' in i);
}

export function mergeConfigText(file: string, baseText: string | undefined, oursText: string, theirsText: string): { text: string; changes: string[] } {
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
