/**
 * The text form of a vault file for `git diff` (textconv: `janee vault diff-text FILE`).
 * Pure. Shows structure, never a value: entry names, origins, times, and per secret
 * field a short fingerprint keyed by the file key (format.fingerprint), so a changed
 * secret shows up as a changed fingerprint and nothing can be learnt about the value
 * without the key. Output is stable and sorted, so diffs only show real changes.
 */
import { createHash } from 'node:crypto';
import { JaneeError } from '../errors.js';
import { secret } from '../util/secret.js';
import { fingerprint, headerMatchesKey, parseVault, unwrapWith, wipeUnlocker, type ParsedVault, type Unlocker } from './format.js';
import { openVaultData } from './payload.js';
import type { VaultData } from './types.js';

const LOCKED_NOTE =
  'contents locked: set JANEE_PASSPHRASE_FILE (or JANEE_PASSPHRASE, or JANEE_IDENTITY_FILE) or run janee unlock to see entry names';

function hex16(parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 16);
}

function sorted(keys: Iterable<string>): string[] {
  return [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Header lines: readable from the file alone, no key needed. */
function headerLines(parsed: ParsedVault): string[] {
  const { scrypt, recipients } = parsed.header;
  const lines = [`janee vault v${recipients.length === 0 ? 1 : 2}`];
  if (scrypt) {
    lines.push(
      `scrypt work factor: 2^${scrypt.logN}`,
      // Not secret (salt and wrapped key are in the file): changes with janee passwd / rekey.
      `passphrase wrap: ${hex16([scrypt.salt, scrypt.wrappedKey])}`,
    );
  } else {
    lines.push('passphrase: none (recipients only)');
  }
  // Names and public keys are in the header (covered by its MAC); the wrap changes on rekey.
  for (const r of recipients) lines.push(`recipient ${r.name}: ${r.recipient} wrap ${hex16([r.share, r.wrappedKey])}`);
  return lines;
}

interface DiffTextInput {
  parsed: ParsedVault;
  /** Present when the contents could be decrypted. */
  unlocked?: { fileKey: Uint8Array; data: VaultData } | undefined;
  /** Why the contents are not shown (when `unlocked` is absent). */
  lockedReason?: string | undefined;
}

function vaultDiffText(input: DiffTextInput): string {
  const { parsed, unlocked } = input;
  const lines = headerLines(parsed);
  if (!unlocked) {
    lines.push(input.lockedReason ?? LOCKED_NOTE);
    lines.push(`payload: ${parsed.ciphertext.length} bytes, sha256 ${hex16([parsed.nonce, parsed.ciphertext])} (changes on every save)`);
    return `${lines.join('\n')}\n`;
  }
  const { fileKey, data } = unlocked;
  const names = sorted(Object.keys(data.entries));
  lines.push(`generation: ${data.generation}`);
  lines.push(`entries: ${names.length}`);
  for (const name of names) {
    const e = data.entries[name];
    if (!e) continue;
    lines.push('');
    lines.push(`[${name}]`);
    lines.push(`  origins: ${e.origins.length ? sorted(e.origins).join(' ') : '(none: the secret cannot be sent anywhere)'}`);
    lines.push(`  created: ${e.created}`);
    lines.push(`  updated: ${e.updated}`);
    for (const field of sorted(Object.keys(e.fields))) {
      lines.push(`  ${field}: fingerprint ${fingerprint(fileKey, name, field, e.fields[field] as string)}`);
    }
  }
  // Agent tokens: names, scopes and times; the hash only as a short prefix (it is not secret, but says nothing useful).
  for (const name of sorted(Object.keys(data.agents ?? {}))) {
    const a = data.agents?.[name];
    if (!a) continue;
    lines.push('');
    lines.push(`[agent ${name}]`);
    lines.push(`  services: ${a.services ? a.services.join(' ') : '(all)'}`);
    lines.push(`  created: ${a.created}`);
    lines.push(`  expires: ${a.expires ?? 'never'}`);
    lines.push(`  token: sha256 ${a.hash.slice(0, 12)}…`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * For a file that is not a vault (conflict markers, a damaged copy, or any other file):
 * say so, then show it as it is, never fail. .gitattributes comes with the repository:
 * a pull request that marks `.bashrc diff=janee` must not hide its own change to
 * .bashrc from `git diff` / `git log -p` behind a one-line summary. A file that does not
 * parse as a vault holds no ciphertext janee could summarise, and nothing git would not
 * show without the attribute.
 */
function notAVaultText(reason: string, bytes: Uint8Array): string {
  const what = reason === 'not a janee vault' ? 'not a janee vault' : `not a readable janee vault: ${reason}`;
  return `${what} (${bytes.length} bytes), shown as it is:\n${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')}`;
}

/**
 * The whole textconv step for one file's bytes: parse, decrypt if a passphrase is at
 * hand, render. Never throws for a bad file or passphrase: git must not fail.
 */
export async function diffTextFor(
  bytes: Uint8Array,
  passphrase: () => Promise<Unlocker | undefined>,
  keys: Uint8Array[] = [],
): Promise<string> {
  if (bytes.length === 0) return '(empty file)\n';
  let parsed: ParsedVault;
  try {
    parsed = parseVault(bytes);
  } catch (e) {
    return notAVaultText(e instanceof JaneeError ? e.message : 'unreadable', bytes);
  }
  const got = await fileKeyFor(parsed, passphrase, keys);
  if (!(got instanceof Uint8Array)) return vaultDiffText({ parsed, lockedReason: got });
  using fileKey = secret(got);
  try {
    const data = openVaultData(parsed, fileKey.bytes);
    return vaultDiffText({ parsed, unlocked: { fileKey: fileKey.bytes, data } });
  } catch (e) {
    return vaultDiffText({ parsed, lockedReason: `contents unreadable: ${e instanceof JaneeError ? e.message : 'cannot decrypt'}` });
  }
}

/**
 * A file key of our own for this vault (a copy of a known one, or unwrapped with the
 * passphrase, which is wiped here): the caller wipes it. Else why the contents stay
 * locked (undefined: no passphrase at hand).
 */
async function fileKeyFor(
  parsed: ParsedVault,
  passphrase: () => Promise<Unlocker | undefined>,
  keys: Uint8Array[],
): Promise<Uint8Array | string | undefined> {
  try {
    const known = keys.find((k) => headerMatchesKey(parsed, k));
    if (known) return Uint8Array.from(known);
    const got = await passphrase();
    if (!got) return undefined;
    try {
      return await unwrapWith(parsed.header, got);
    } finally {
      wipeUnlocker(got);
    }
  } catch (e) {
    return `contents locked: ${e instanceof JaneeError ? e.message : 'cannot decrypt'}`;
  }
}
