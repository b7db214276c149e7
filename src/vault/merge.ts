/**
 * Three-way merge of decrypted vault contents, entry by entry (pure: values in,
 * values out). Used by the git merge driver (`janee vault merge %O %A %B`).
 *
 * For every entry name, with base O, ours A and theirs B:
 * - A and B have the same content        → take it (the later `updated` of the two)
 * - A unchanged from O                    → take B (B may have added, changed or deleted it)
 * - B unchanged from O                    → take A
 * - both changed it, differently:
 *   - both still have it and O had it      → merge its parts: the fields (the secret) as one
 *     unit, three-way; the origins as a set, three-way per origin. Fields changed
 *     differently on both sides → conflict. Origins never conflict: an origin is kept
 *     if both sides keep it, or if one side added it; it goes if one side removed it.
 *   - added on both sides, differently     → conflict
 *   - deleted on one side, changed on the other → conflict
 *
 * "Content" is the fields and the set of origins; `created`/`updated` are ignored when
 * comparing (two machines that make the same change at different times agree).
 * The result's generation is max(A, B) + 1, so an agent holding either side moves forward.
 *
 * A side whose generation is LOWER than the base's is refused (VAULT_ROLLBACK): every
 * save raises the generation, so that side is an older copy committed on top (or a
 * `git revert` of a vault change). Merged entry by entry it would bring back what was
 * removed since the base, at a generation higher than anything seen — laundering the
 * rollback that opening the file would refuse (seen.ts).
 */
import { JaneeError } from '../errors.js';
import {
  headerMatchesKey,
  parseVault,
  sortRecipients,
  unwrapWith,
  wipeUnlocker,
  type ParsedVault,
  type RecipientStanza,
  type ScryptStanza,
  type Unlocker,
  type VaultHeader,
} from './format.js';
import { openVaultData, sealVaultData } from './payload.js';
import type { AgentRecord, VaultData, VaultEntry } from './types.js';

type ConflictKind = 'changed-both' | 'added-both' | 'deleted-ours' | 'deleted-theirs';

interface MergeConflict {
  name: string;
  kind: ConflictKind;
}

type Resolution = 'ours' | 'theirs' | 'same' | 'merged' | 'deleted';

interface MergeResult {
  /** The merged contents; meaningful only when `conflicts` is empty. */
  data: VaultData;
  /** Sorted by name. */
  conflicts: MergeConflict[];
  /** What happened to each name where ours and theirs differed (for the driver's summary). */
  changes: { name: string; resolution: Resolution }[];
}

function sameFields(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (const k of ka) if (!Object.hasOwn(b, k) || a[k] !== b[k]) return false;
  return true;
}

function sameOrigins(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sb = new Set(b);
  return a.every((o) => sb.has(o));
}

/** Same content: fields and the set of origins (timestamps ignored). undefined = absent. */
export function sameEntry(a: VaultEntry | undefined, b: VaultEntry | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return sameFields(a.fields, b.fields) && sameOrigins(a.origins, b.origins);
}

function copyEntry(e: VaultEntry): VaultEntry {
  return { fields: { ...e.fields }, origins: [...e.origins], created: e.created, updated: e.updated };
}

const later = (a: string, b: string): string => (a >= b ? a : b);
const earlier = (a: string, b: string): string => (a <= b ? a : b);

/** Three-way merge of origin sets; order: ours first, then what only theirs has. */
function mergeOrigins(o: readonly string[], a: readonly string[], b: readonly string[]): string[] {
  const so = new Set(o);
  const sa = new Set(a);
  const sb = new Set(b);
  const keep = (x: string): boolean => {
    const inA = sa.has(x);
    const inB = sb.has(x);
    if (inA === inB) return inA;
    // They differ: whichever side changed it from the base wins.
    return inA !== so.has(x) ? inA : inB;
  };
  const out: string[] = [];
  for (const x of [...a, ...b]) if (!out.includes(x) && keep(x)) out.push(x);
  return out;
}

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sameAgent(a: AgentRecord | undefined, b: AgentRecord | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const sa = a.services === null ? null : [...a.services].sort(byName).join(',');
  const sb = b.services === null ? null : [...b.services].sort(byName).join(',');
  return a.hash === b.hash && sa === sb && a.created === b.created && a.expires === b.expires;
}

/**
 * Agent tokens, three-way by name like entries, but a record is one unit: an agent
 * added on one side is kept, one removed on one side (revoked) stays removed, and
 * the same name added or changed differently on both sides is a conflict — never a
 * silent choice of which token (or scope) wins.
 */
function mergeAgents(
  base: VaultData,
  ours: VaultData,
  theirs: VaultData,
  conflicts: MergeConflict[],
  changes: MergeResult['changes'],
): Record<string, AgentRecord> {
  const get = (d: VaultData, n: string): AgentRecord | undefined => (d.agents && Object.hasOwn(d.agents, n) ? d.agents[n] : undefined);
  const names = new Set([...Object.keys(base.agents ?? {}), ...Object.keys(ours.agents ?? {}), ...Object.keys(theirs.agents ?? {})]);
  const agents: Record<string, AgentRecord> = {};
  for (const name of [...names].sort(byName)) {
    const [o, a, b] = [get(base, name), get(ours, name), get(theirs, name)];
    let result: AgentRecord | undefined;
    let resolution: Resolution;
    if (sameAgent(a, b)) [result, resolution] = [a, 'same'];
    else if (sameAgent(a, o)) [result, resolution] = [b, b ? 'theirs' : 'deleted'];
    else if (sameAgent(b, o)) [result, resolution] = [a, a ? 'ours' : 'deleted'];
    else {
      conflicts.push({ name: `agent ${name}`, kind: !o ? 'added-both' : !a ? 'deleted-ours' : !b ? 'deleted-theirs' : 'changed-both' });
      continue;
    }
    if (result) agents[name] = { ...result, services: result.services && [...result.services] };
    if (!sameAgent(a, b)) changes.push({ name: `agent ${name}`, resolution });
  }
  return agents;
}

export function mergeVaultData(base: VaultData, ours: VaultData, theirs: VaultData): MergeResult {
  const names = new Set([...Object.keys(base.entries), ...Object.keys(ours.entries), ...Object.keys(theirs.entries)]);
  const entries: Record<string, VaultEntry> = {};
  const conflicts: MergeConflict[] = [];
  const changes: MergeResult['changes'] = [];
  const get = (d: VaultData, n: string): VaultEntry | undefined => (Object.hasOwn(d.entries, n) ? d.entries[n] : undefined);

  for (const name of [...names].sort(byName)) {
    const o = get(base, name);
    const a = get(ours, name);
    const b = get(theirs, name);
    const differ = !sameEntry(a, b) || a?.updated !== b?.updated;

    let result: VaultEntry | undefined;
    let resolution: Resolution;
    if (sameEntry(a, b)) {
      result = a && b ? copyEntry(a.updated >= b.updated ? a : b) : undefined;
      resolution = 'same';
    } else if (sameEntry(a, o)) {
      result = b && copyEntry(b);
      resolution = b ? 'theirs' : 'deleted';
    } else if (sameEntry(b, o)) {
      result = a && copyEntry(a);
      resolution = a ? 'ours' : 'deleted';
    } else if (a && b && o) {
      // Both changed the entry, differently: merge its parts.
      let fields: Record<string, string>;
      if (sameFields(a.fields, b.fields)) fields = { ...a.fields };
      else if (sameFields(a.fields, o.fields)) fields = { ...b.fields };
      else if (sameFields(b.fields, o.fields)) fields = { ...a.fields };
      else {
        conflicts.push({ name, kind: 'changed-both' });
        continue;
      }
      result = {
        fields,
        origins: mergeOrigins(o.origins, a.origins, b.origins),
        created: earlier(a.created, b.created),
        updated: later(a.updated, b.updated),
      };
      resolution = 'merged';
    } else {
      conflicts.push({ name, kind: !o ? 'added-both' : !a ? 'deleted-ours' : 'deleted-theirs' });
      continue;
    }
    if (result) entries[name] = result;
    if (differ) changes.push({ name, resolution });
  }
  const agents = mergeAgents(base, ours, theirs, conflicts, changes);
  const data: VaultData = { version: 1, generation: Math.max(ours.generation, theirs.generation) + 1, entries };
  if (Object.keys(agents).length > 0) data.agents = agents;
  return {
    data,
    conflicts,
    changes,
  };
}

const KIND_TEXT: Record<ConflictKind, string> = {
  'changed-both': 'changed on both sides',
  'added-both': 'added on both sides with different values',
  'deleted-ours': 'deleted on our side and changed on theirs',
  'deleted-theirs': 'changed on our side and deleted on theirs',
};

/** `"stripe" changed on both sides` / `"a" changed on both sides; "b" added on both sides …`. */
function describeConflicts(conflicts: readonly MergeConflict[]): string {
  return conflicts.map((c) => `"${c.name}" ${KIND_TEXT[c.kind]}`).join('; ');
}

// ---------------------------------------------------------------------------
// Whole files: decrypt the three versions in memory, merge, re-seal. No file I/O here.

interface MergeFilesInput {
  /** The merge base (%O). Empty when the file has no common ancestor (added on both sides). */
  base: Uint8Array;
  /** Ours (%A): the result is sealed for it. */
  ours: Uint8Array;
  /** Theirs (%B). */
  theirs: Uint8Array;
  /** File keys already at hand (e.g. from an unlocked agent); tried before any passphrase. */
  keys?: Uint8Array[];
  /** Asked at most once, and only when no known key opens a version. */
  passphrase: () => Promise<Unlocker | undefined>;
}

interface MergeFilesResult {
  /** The merged vault file, sealed under the shared file key. */
  bytes: Uint8Array;
  changes: MergeResult['changes'];
  /** Whose passphrase wrap the result carries, and whether that came from the other side's `janee passwd`. */
  header: 'ours' | 'theirs';
  headerNote: string | undefined;
  entries: number;
}

type Side = 'base' | 'ours' | 'theirs';

function sameScrypt(a: ScryptStanza | undefined, b: ScryptStanza | undefined): boolean {
  if (!a || !b) return a === b;
  return a.logN === b.logN && bytesEqual(a.salt, b.salt) && bytesEqual(a.wrappedKey, b.wrappedKey);
}

/**
 * The merged header of two sides under the same file key (so every stanza of either
 * side wraps that key, and both sides' MACs verified them). The passphrase stanza:
 * the side that changed it from the base wins (ours if both did). Recipients, by name,
 * three-way: one side adding a member keeps it; one side dropping one (without a rekey)
 * drops it; the same name added with two different keys is a conflict.
 */
function mergeHeaders(
  hO: VaultHeader | undefined,
  hA: VaultHeader,
  hB: VaultHeader,
): { header: VaultHeader; side: 'ours' | 'theirs'; note: string | undefined } {
  let side: 'ours' | 'theirs' = 'ours';
  let note: string | undefined;
  if (!sameScrypt(hA.scrypt, hB.scrypt)) {
    if (hO && sameScrypt(hA.scrypt, hO.scrypt)) {
      side = 'theirs';
      note = 'the incoming side changed the vault passphrase (janee passwd): the merged vault uses it';
    } else if (!(hO && sameScrypt(hB.scrypt, hO.scrypt))) {
      note = 'both sides changed the vault passphrase: the merged vault keeps the local one';
    }
  }
  const byName = (h: VaultHeader | undefined) => new Map((h?.recipients ?? []).map((r) => [r.name, r]));
  const [o, a, b] = [byName(hO), byName(hA), byName(hB)];
  const recipients: RecipientStanza[] = [];
  const added: string[] = [];
  for (const name of new Set([...a.keys(), ...b.keys()])) {
    const ra = a.get(name);
    const rb = b.get(name);
    const ro = o.get(name);
    if (ra && rb) {
      if (ra.recipient !== rb.recipient) throw recipientConflict(`the recipient "${name}" has a different key on each side`);
      recipients.push(ra);
    } else if (ra || rb) {
      const r = (ra ?? rb) as RecipientStanza;
      if (ro && ro.recipient === r.recipient) continue; // the other side removed it
      recipients.push(r);
      if (rb) added.push(name);
    }
  }
  const keys = new Set(recipients.map((r) => r.recipient));
  if (keys.size !== recipients.length) throw recipientConflict('the same age key was added under two names');
  const scrypt = side === 'ours' ? hA.scrypt : hB.scrypt;
  if (!scrypt && recipients.length === 0) throw recipientConflict('the merged vault would have no passphrase and no recipient');
  if (added.length > 0) {
    const kept = `the incoming side added the recipient${added.length === 1 ? '' : 's'} ${added.join(', ')}: kept`;
    note = note ? `${note}; ${kept}` : kept;
  }
  return { header: { scrypt, recipients: sortRecipients(recipients) }, side, note };
}

function recipientConflict(what: string): JaneeError {
  return new JaneeError(
    'VAULT_MERGE_CONFLICT',
    `vault merge conflict: ${what}`,
    "nothing was written; keep one side with `git checkout --ours <vault>` (or `--theirs`), `git add <vault>`, then redo the other side's `janee recipients` change",
  );
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Merges three vault files. Throws JaneeError: VAULT_MERGE_CONFLICT (names the entries),
 * VAULT_MERGE_KEYS (ours and theirs use different file keys: a rekey on one side),
 * NO_PASSPHRASE / VAULT_BAD_PASSPHRASE, or any parse error of a version. Plaintext exists
 * only in memory; decrypted buffers are wiped.
 */
export async function mergeVaultFiles(input: MergeFilesInput): Promise<MergeFilesResult> {
  const parsed: Partial<Record<Side, ParsedVault>> = {
    ours: parseVault(input.ours),
    theirs: parseVault(input.theirs),
  };
  if (input.base.length > 0) parsed.base = parseVault(input.base);

  const known: Uint8Array[] = [...(input.keys ?? [])];
  const mine: Uint8Array[] = []; // keys we unwrapped: wiped at the end
  const keyOf: Partial<Record<Side, Uint8Array>> = {};
  let pass: Unlocker | undefined;
  let asked = false;
  try {
    const order: Side[] = ['ours', 'theirs', 'base'];
    const refused = new Set<Side>();
    let lastError: unknown;
    for (let progress = true; progress;) {
      progress = false;
      for (const side of order) {
        const p = parsed[side];
        if (!p || keyOf[side]) continue;
        const k = known.find((key) => headerMatchesKey(p, key));
        if (k) {
          keyOf[side] = k;
          progress = true;
          continue;
        }
        if (refused.has(side)) continue;
        if (!asked) {
          asked = true;
          pass = await input.passphrase();
        }
        if (!pass) continue;
        try {
          const key = await unwrapWith(p.header, pass);
          mine.push(key);
          known.push(key);
          keyOf[side] = key;
          progress = true;
        } catch (e) {
          refused.add(side);
          lastError = e;
        }
      }
    }
    for (const side of order) {
      if (parsed[side] && !keyOf[side]) {
        if (!pass) {
          throw new JaneeError(
            'NO_PASSPHRASE',
            'cannot merge the vault: no key to decrypt it (no agent, no JANEE_PASSPHRASE_FILE / JANEE_PASSPHRASE, no terminal)',
            'set JANEE_PASSPHRASE_FILE for the merge (or run it in a terminal), then `git merge --abort` and merge again',
          );
        }
        const why = lastError instanceof JaneeError && lastError.code !== 'VAULT_BAD_PASSPHRASE' ? lastError.message : 'wrong passphrase';
        throw new JaneeError(
          lastError instanceof JaneeError ? lastError.code : 'VAULT_BAD_PASSPHRASE',
          `cannot merge the vault: the ${side === 'ours' ? 'local' : side === 'theirs' ? 'incoming' : 'merge-base'} version does not open (${why})`,
          'use the passphrase of that version (JANEE_PASSPHRASE_FILE / JANEE_PASSPHRASE), then `git merge --abort` and merge again',
        );
      }
    }
    const keyA = keyOf.ours as Uint8Array;
    const keyB = keyOf.theirs as Uint8Array;
    if (!bytesEqual(keyA, keyB)) {
      throw new JaneeError(
        'VAULT_MERGE_KEYS',
        'cannot merge the vault: the two sides are encrypted under different file keys (`janee rekey` or `janee recipients remove` ran on one side)',
        "keep one side (`git checkout --ours <vault>` or `--theirs`), `git add` it, then redo the other side's changes with janee add / bind (if janee then reports VAULT_ROLLBACK for the side you kept, `janee vault accept-older` takes it)",
      );
    }

    const open = (side: Side): VaultData => openVaultData(parsed[side] as ParsedVault, keyOf[side] as Uint8Array);
    const ours = open('ours');
    const theirs = open('theirs');
    const base = parsed.base ? open('base') : { version: 1 as const, generation: 0, entries: {} };
    for (const [side, d] of [
      ['local', ours],
      ['incoming', theirs],
    ] as const) {
      if (d.generation < base.generation) {
        throw new JaneeError(
          'VAULT_ROLLBACK',
          `cannot merge the vault: the ${side} version (generation ${d.generation}) is older than the merge base (generation ${base.generation}): an older copy was committed, and merging it would bring back what was removed since`,
          `nothing was written; see who committed it (\`git log -p -- <vault>\`) and \`git merge --abort\`. To go back to that copy on purpose: \`git checkout --${side === 'local' ? 'ours' : 'theirs'} <vault>\`, \`git add <vault>\`, commit, then \`janee vault accept-older\``,
        );
      }
    }
    const merged = mergeVaultData(base, ours, theirs);
    if (merged.conflicts.length > 0) {
      throw new JaneeError(
        'VAULT_MERGE_CONFLICT',
        `vault merge conflict: ${describeConflicts(merged.conflicts)}`,
        "nothing was written; keep one side with `git checkout --ours <vault>` (or `--theirs`), redo the other side's change with `janee remove`/`janee add`, then `git add <vault>` and commit (if janee then reports VAULT_ROLLBACK for the side you kept, `janee vault accept-older` takes it)",
      );
    }

    const h = mergeHeaders(parsed.base?.header, (parsed.ours as ParsedVault).header, (parsed.theirs as ParsedVault).header);
    const bytes = sealVaultData(h.header, keyA, merged.data);
    return { bytes, changes: merged.changes, header: h.side, headerNote: h.note, entries: Object.keys(merged.data.entries).length };
  } finally {
    if (pass) wipeUnlocker(pass);
    for (const k of mine) k.fill(0);
  }
}
