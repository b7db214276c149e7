/**
 * `janee export --age FILE`: the vault's contents (and the services of config.yaml)
 * as a standard age v1 passphrase-encrypted file, so users are never locked in:
 * `age -d FILE` gives back plain JSON. `janee import --age FILE` reads it back.
 *
 * The JSON inside (janee-export/v1):
 *   { "format": "janee-export/v1", "exported": "<ISO time>",
 *     "entries":  { NAME: { fields, origins, created, updated } },   // the vault entries
 *     "services": { NAME: { baseUrl, auth, policies?, rateLimit?, maxResponseBytes?, timeoutMs? } } }
 */
import { Command, Option } from 'clipanion';
import * as fs from 'node:fs/promises';
import { JaneeError, usageError } from '../../errors.js';
import { vaultPath } from '../../config/paths.js';
import type { AuthSpec, JaneeConfig, ServiceConfig } from '../../config/types.js';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_MS } from '../../config/types.js';
import { atomicWrite } from '../../util/fsutil.js';
import { secret } from '../../util/secret.js';
import { encryptAge, type AgeTo } from '../../vault/age.js';
import { parseRecipient } from '../../vault/x25519.js';
import { unlockVaultFile } from '../../vault/store.js';
import type { VaultData } from '../../vault/types.js';
import { JaneeCommand, jsonOption, passphraseStdinOption } from '../base.js';
import { clean, info, warn, withProgress, type Streams } from '../io.js';
import { identityOption } from '../identity.js';
import { unlockWithPassphrase } from '../vault-ops.js';
import { getPassphrase } from '../passphrase.js';
import { parseWorkFactor } from './init.js';

export const EXPORT_FORMAT = 'janee-export/v1';

interface ExportedService {
  baseUrl: string;
  auth: AuthSpec;
  policies?: { path: string; methods: string[]; deny?: true }[];
  rateLimit?: string;
  maxResponseBytes?: number;
  timeoutMs?: number;
}

function serviceToJson(s: ServiceConfig): ExportedService {
  const out: ExportedService = { baseUrl: s.baseUrl, auth: { ...s.auth } };
  if (s.policies)
    out.policies = s.policies.map((p) =>
      p.deny ? { path: p.path, methods: [...p.methods], deny: true } : { path: p.path, methods: [...p.methods] },
    );
  if (s.rateLimit) out.rateLimit = s.rateLimit.text;
  if (s.maxResponseBytes !== DEFAULT_MAX_RESPONSE_BYTES) out.maxResponseBytes = s.maxResponseBytes;
  if (s.timeoutMs !== DEFAULT_TIMEOUT_MS) out.timeoutMs = s.timeoutMs;
  return out;
}

/** The age file's passphrase: JANEE_AGE_PASSPHRASE_FILE, JANEE_AGE_PASSPHRASE, --age-passphrase-stdin, or the terminal. */
export async function agePassphrase(io: Streams, opts: { fromStdin: boolean; confirm: boolean }): Promise<Uint8Array> {
  const env = process.env;
  if (!env.JANEE_AGE_PASSPHRASE_FILE && !env.JANEE_AGE_PASSPHRASE && !opts.fromStdin && !(io.stdin.isTTY && io.stderr.isTTY)) {
    throw new JaneeError(
      'NO_PASSPHRASE',
      'no passphrase for the age file: no terminal to ask on, and none of JANEE_AGE_PASSPHRASE_FILE, JANEE_AGE_PASSPHRASE or --age-passphrase-stdin given',
      'run this in a terminal, or set JANEE_AGE_PASSPHRASE_FILE',
    );
  }
  const { passphrase } = await getPassphrase(io, {
    env: { JANEE_PASSPHRASE_FILE: env.JANEE_AGE_PASSPHRASE_FILE, JANEE_PASSPHRASE: env.JANEE_AGE_PASSPHRASE },
    fromStdin: opts.fromStdin,
    confirm: opts.confirm,
    prompt: 'passphrase for the age file: ',
  });
  return passphrase;
}

export class ExportCommand extends JaneeCommand {
  static override paths = [['export']];
  static override usage = Command.Usage({
    description: 'Write the vault (and the services in config.yaml) to an age-encrypted file',
    details: `
      The file is a standard age v1 file encrypted with a passphrase (scrypt), readable with
      \`age -d FILE\`; inside is JSON (format janee-export/v1) with every secret in plain text.
      The age passphrase comes from JANEE_AGE_PASSPHRASE_FILE, JANEE_AGE_PASSPHRASE, a line on
      stdin with --age-passphrase-stdin (the line after the vault passphrase if both come from
      stdin), the vault passphrase with --same-passphrase, or is asked twice on the terminal.
      The file is written 0600, atomically; an existing file is kept unless --force.
    `,
    examples: [
      ['Export', 'janee export --age janee-backup.age'],
      ['Read it with age', 'age -d -o janee.json janee-backup.age'],
      ['Export to age public keys', 'janee export --age team.age --recipient age1… --recipient age1…'],
      ['Read that with age', 'age -d -i key.txt team.age'],
    ],
  });

  age = Option.String('--age', { required: true, description: 'The age file to write' });
  force = Option.Boolean('--force', false, { description: 'Replace an existing file' });
  workFactor = Option.String('--work-factor', { description: "log2 of scrypt's N for the age file (default 18, as `age -p`)" });
  samePassphrase = Option.Boolean('--same-passphrase', false, { description: 'Encrypt with the vault passphrase' });
  agePassphraseStdin = Option.Boolean('--age-passphrase-stdin', false, { description: 'Read the age passphrase from stdin' });
  recipients = Option.Array('--recipient,-r', {
    description: 'Encrypt to this age public key (age1…) instead of a passphrase; repeatable',
  });
  identity = identityOption();
  passphraseStdin = passphraseStdinOption();
  json = jsonOption();

  async run(): Promise<number> {
    const logN = parseWorkFactor(this.workFactor);
    if (this.samePassphrase && this.agePassphraseStdin)
      throw usageError('give either --same-passphrase or --age-passphrase-stdin, not both');
    const to = this.recipients?.map((r) => {
      const key = parseRecipient(r);
      if (key === undefined)
        throw new JaneeError(
          'RECIPIENT_INVALID',
          `--recipient: "${clean(r.slice(0, 70))}" is not an age1… public key`,
          'age-keygen -y KEYFILE prints one',
        );
      return key;
    });
    if (to && (this.samePassphrase || this.agePassphraseStdin || this.workFactor !== undefined))
      throw usageError('--recipient encrypts to public keys: it takes no age passphrase or work factor');
    if (!this.force && (await exists(this.age))) {
      throw new JaneeError('EXPORT_EXISTS', `${this.age} already exists`, 'pick another file name, or pass --force to replace it');
    }
    let config: JaneeConfig | undefined;
    try {
      config = await this.config({ allowMissing: true });
    } catch (e) {
      warn(this.context.stderr, `services not exported: ${e instanceof JaneeError ? e.message : 'config.yaml is unreadable'}`);
    }
    const file = vaultPath(config?.vaultPath);

    const services: Record<string, ExportedService> = {};
    for (const s of config?.services.values() ?? []) services[s.name] = serviceToJson(s);
    const { data, samePass } = await this.unlockData(file);
    const ageTo: AgeTo = to
      ? { recipients: to }
      : (samePass ?? (await agePassphrase(this.io, { fromStdin: this.agePassphraseStdin, confirm: true })));
    const exported = { format: EXPORT_FORMAT, exported: new Date().toISOString(), entries: data.entries, services };
    const sealed = await sealExport(this.context.stderr, exported, ageTo, logN);
    if (!this.force && (await exists(this.age))) {
      throw new JaneeError('EXPORT_EXISTS', `${this.age} already exists`, 'pick another file name, or pass --force to replace it');
    }
    await atomicWrite(this.age, sealed, { backup: false, mode: 0o600 });
    await fs.chmod(this.age, 0o600);
    const n = Object.keys(data.entries).length;
    info(
      this.context.stderr,
      `exported ${n} secret${n === 1 ? '' : 's'} and ${Object.keys(services).length} service${Object.keys(services).length === 1 ? '' : 's'} to ${this.age} (age v1, ${to ? `${to.length} recipient${to.length === 1 ? '' : 's'}` : 'passphrase'})`,
    );
    info(
      this.context.stderr,
      `anyone with this file and ${to ? 'the identity of a recipient' : 'its passphrase'} has every secret: store it like the vault`,
    );
    // Names only: the values are in the encrypted file and nowhere else.
    if (this.json) this.outJson({ file: this.age, entries: Object.keys(data.entries).sort(), services: Object.keys(services).sort() });
    return 0;
  }

  /**
   * The vault's data (its file key wiped at once). With --same-passphrase, the vault
   * passphrase is handed over for the age file (sealExport wipes it); else it is wiped here,
   * before the age passphrase is asked for.
   */
  private async unlockData(file: string): Promise<{ data: VaultData; samePass?: Uint8Array }> {
    if (!this.samePassphrase) {
      const vault = await unlockWithPassphrase(this.io, file, { passphraseStdin: this.passphraseStdin, identity: this.identity });
      vault.fileKey.fill(0);
      return { data: vault.data };
    }
    using passphrase = secret((await getPassphrase(this.io, { fromStdin: this.passphraseStdin, prompt: 'vault passphrase: ' })).passphrase);
    const vault = await withProgress(this.context.stderr, 'unlocking vault', unlockVaultFile(file, passphrase.bytes));
    vault.fileKey.fill(0);
    return this.samePassphrase ? { data: vault.data, samePass: passphrase.take() } : { data: vault.data };
  }
}

/** The export as an age file. Takes the age passphrase and wipes it, and the JSON, once encrypted. */
async function sealExport(stderr: Streams['stderr'], exported: object, to: AgeTo, logN: number): Promise<Uint8Array> {
  using plain = secret(new TextEncoder().encode(JSON.stringify(exported, null, 2) + '\n'));
  try {
    const what = to instanceof Uint8Array ? `scrypt 2^${logN}` : 'X25519';
    return await withProgress(stderr, `encrypting (age, ${what})`, encryptAge(plain.bytes, to, { logN }));
  } finally {
    if (to instanceof Uint8Array) to.fill(0);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.lstat(file);
    return true;
  } catch {
    return false;
  }
}
