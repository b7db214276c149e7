/**
 * `janee import --age FILE`: reads what `janee export --age` wrote (or any age v1
 * passphrase file holding that JSON, or a bare vault payload) into the vault, and adds
 * the services it carries to config.yaml when they are missing there.
 */
import { Command, Option } from 'clipanion';
import { readAtMost, TooLargeError } from '../../util/bounded.js';
import { JaneeError, usageError } from '../../errors.js';
import { addServiceNode, editConfig, hasService, type NewService } from '../../config/edit.js';
import { parseAuthText, SERVICE_NAME } from '../../config/load.js';
import { AUTH_TYPES, type AuthSpec } from '../../config/types.js';
import { parseBaseUrl } from '../../config/url.js';
import { secret } from '../../util/secret.js';
import { decryptAge, type AgeFrom } from '../../vault/age.js';
import { wipeUnlocker } from '../../vault/format.js';
import { sameEntry } from '../../vault/merge.js';
import { decodePayload, MAX_FIELD_VALUE } from '../../vault/payload.js';
import { MAX_VAULT_BYTES, updateVault } from '../../vault/store.js';
import type { VaultEntry } from '../../vault/types.js';
import { JaneeCommand, jsonOption, passphraseStdinOption } from '../base.js';
import { info, warn, withProgress, type Streams } from '../io.js';
import { unlockWithPassphrase } from '../vault-ops.js';
import { readIdentityFile } from '../identity.js';
import { agePassphrase, EXPORT_FORMAT } from './export.js';

interface ImportedService extends NewService {
  maxResponseBytes?: number;
  timeoutMs?: number;
}

interface ImportContents {
  entries: Record<string, VaultEntry>;
  services: ImportedService[];
}

function bad(message: string): JaneeError {
  return new JaneeError('IMPORT_BAD_FILE', `import file: ${message}`, 'import a file written by `janee export --age`');
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Decrypts and parses an export. Takes the age passphrase or identities and wipes them, and the decrypted JSON. */
async function openExport(stderr: Streams['stderr'], file: Uint8Array, from: AgeFrom): Promise<ImportContents> {
  try {
    using plain = secret(await withProgress(stderr, 'decrypting (age)', decryptAge(file, from, { maxLogN: 22 })));
    return parseImport(plain.bytes);
  } finally {
    wipeUnlocker(from);
  }
}

/** Parses and validates the decrypted JSON. Never quotes a value in an error. */
function parseImport(plain: Uint8Array): ImportContents {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain));
  } catch {
    throw bad('not JSON');
  }
  if (!isObj(json)) throw bad('expected a JSON object');
  const isExport = json['format'] === EXPORT_FORMAT;
  const isPayload = json['version'] === 1 && 'entries' in json && !('format' in json);
  if (!isExport && !isPayload) {
    throw bad(typeof json['format'] === 'string' ? `unsupported format (expected ${EXPORT_FORMAT})` : `no "format": "${EXPORT_FORMAT}"`);
  }
  // Validate the entries exactly as the vault does, by decoding them as a payload.
  const entries = decodePayload(
    new TextEncoder().encode(JSON.stringify({ version: 1, generation: 0, entries: json['entries'] ?? {} })),
  ).entries;
  // The same cap as `janee add`: a value of megabytes would be held by every serve.
  for (const [name, e] of Object.entries(entries)) {
    for (const [field, value] of Object.entries(e.fields)) {
      if (value.length > MAX_FIELD_VALUE) throw bad(`entry "${name}": field "${field}" is longer than ${MAX_FIELD_VALUE / 1024} KiB`);
    }
  }

  const services: ImportedService[] = [];
  const raw = isExport ? (json['services'] ?? {}) : {};
  if (!isObj(raw)) throw bad('"services" must be an object');
  for (const [name, s] of Object.entries(raw)) {
    const where = `service "${SERVICE_NAME.test(name) ? name : '(invalid name)'}"`;
    if (!SERVICE_NAME.test(name)) throw bad(`${where}: invalid name`);
    if (!isObj(s)) throw bad(`${where} must be an object`);
    if (typeof s['baseUrl'] !== 'string') throw bad(`${where}: baseUrl must be a string`);
    const baseUrl = parseBaseUrl(s['baseUrl']).baseUrl;
    const a = s['auth'];
    if (!isObj(a) || typeof a['type'] !== 'string' || !(AUTH_TYPES as readonly string[]).includes(a['type']))
      throw bad(`${where}: auth.type must be one of ${AUTH_TYPES.join(', ')}`);
    let auth: AuthSpec;
    try {
      // JSON is YAML: the block is checked exactly as config.yaml's would be.
      auth = parseAuthText(JSON.stringify(a));
    } catch (e) {
      throw bad(`${where}: ${e instanceof JaneeError ? e.message.replace(/^--auth:\d+: /, '') : 'invalid auth'}`);
    }
    const svc: ImportedService = { name, baseUrl, auth };
    if (s['policies'] !== undefined) {
      if (!Array.isArray(s['policies'])) throw bad(`${where}: policies must be a list`);
      svc.policies = s['policies'].map((p: unknown, i: number) => {
        if (
          !isObj(p) ||
          typeof p['path'] !== 'string' ||
          !Array.isArray(p['methods']) ||
          !p['methods'].every((m) => typeof m === 'string') ||
          (p['deny'] !== undefined && typeof p['deny'] !== 'boolean')
        ) {
          throw bad(`${where}: policies[${i}] must be { path, methods, deny? }`);
        }
        return p['deny'] ? { path: p['path'], methods: p['methods'], deny: true } : { path: p['path'], methods: p['methods'] };
      });
    }
    if (s['rateLimit'] !== undefined) {
      if (typeof s['rateLimit'] !== 'string') throw bad(`${where}: rateLimit must be a string like 60/min`);
      svc.rateLimit = s['rateLimit'];
    }
    for (const k of ['maxResponseBytes', 'timeoutMs'] as const) {
      if (s[k] !== undefined) {
        if (typeof s[k] !== 'number') throw bad(`${where}: ${k} must be a number`);
        svc[k] = s[k];
      }
    }
    services.push(svc);
  }
  return { entries, services };
}

export class ImportCommand extends JaneeCommand {
  static override paths = [['import']];
  static override usage = Command.Usage({
    description: 'Read secrets (and services) from an age file written by `janee export --age`',
    details: `
      Secrets are added to the vault; a name the vault already holds with a different value is
      refused unless --force (then replaced). Services the file carries are added to config.yaml
      when config.yaml has no service of that name (--no-config skips them); existing services are
      never changed. The age passphrase comes from JANEE_AGE_PASSPHRASE_FILE, JANEE_AGE_PASSPHRASE,
      a line on stdin with --age-passphrase-stdin, or the terminal. A file encrypted to an age
      public key (\`age -r age1…\`, \`janee export --recipient\`) is read with --identity FILE (an
      age identity file); the vault itself is then opened with its passphrase or JANEE_IDENTITY_FILE.
    `,
    examples: [
      ['Import a backup', 'janee import --age janee-backup.age'],
      ['Import a file made with age -r', 'janee import --age secrets.age --identity ~/.config/age/key.txt'],
    ],
  });

  age = Option.String('--age', { required: true, description: 'The age file to read' });
  force = Option.Boolean('--force', false, { description: 'Replace secrets the vault already holds' });
  noConfig = Option.Boolean('--no-config', false, { description: 'Import secrets only; leave config.yaml alone' });
  agePassphraseStdin = Option.Boolean('--age-passphrase-stdin', false, { description: 'Read the age passphrase from stdin' });
  identity = Option.String('--identity,-i', {
    description: 'Decrypt the age file with this age identity file (for files made with age -r)',
  });
  passphraseStdin = passphraseStdinOption();
  json = jsonOption();

  async run(): Promise<number> {
    if (this.identity !== undefined && this.agePassphraseStdin)
      throw usageError('give either --identity or --age-passphrase-stdin, not both');
    let file: Uint8Array;
    try {
      // Bounded like the vault it becomes: /dev/zero or a huge file fails at once. A pipe is fine (`<(curl …)`).
      file = await readAtMost(this.age, MAX_VAULT_BYTES);
    } catch (e) {
      if (e instanceof TooLargeError) throw new JaneeError('IMPORT_UNREADABLE', `${this.age} is larger than ${MAX_VAULT_BYTES} bytes`);
      throw new JaneeError('IMPORT_UNREADABLE', `cannot read ${this.age} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const configFile = this.configFile;
    const vaultFile = await this.vaultFile(); // checks config.yaml is valid before anything changes
    // The vault passphrase first (first stdin line), then the age one.
    const vault = await unlockWithPassphrase(this.io, vaultFile, { passphraseStdin: this.passphraseStdin });
    let added: string[] = [];
    let same: string[] = [];
    let replaced: string[] = [];
    let contents: ImportContents;
    try {
      const from: AgeFrom =
        this.identity !== undefined
          ? { identities: await readIdentityFile(this.io, this.identity) }
          : await agePassphrase(this.io, { fromStdin: this.agePassphraseStdin, confirm: false });
      contents = await openExport(this.context.stderr, file, from);
      await updateVault(vaultFile, vault.fileKey, (data) => {
        added = [];
        same = [];
        replaced = [];
        const clash: string[] = [];
        for (const [name, e] of Object.entries(contents.entries)) {
          const have = Object.hasOwn(data.entries, name) ? data.entries[name] : undefined;
          if (!have) added.push(name);
          else if (sameEntry(have, e)) same.push(name);
          else if (this.force) replaced.push(name);
          else clash.push(name);
        }
        if (clash.length) {
          throw new JaneeError(
            'IMPORT_CONFLICT',
            `the vault already holds different secrets named ${clash.map((n) => `"${n}"`).join(', ')}; nothing was imported`,
            'pass --force to replace them, or `janee remove` them first',
          );
        }
        for (const name of [...added, ...replaced]) data.entries[name] = contents.entries[name] as VaultEntry;
      });
    } finally {
      vault.fileKey.fill(0);
    }

    const newServices: string[] = [];
    const keptServices: string[] = [];
    if (!this.noConfig && contents.services.length > 0) {
      await editConfig(configFile, (doc) => {
        for (const s of contents.services) {
          if (hasService(doc, s.name)) {
            keptServices.push(s.name);
            continue;
          }
          addServiceNode(doc, s);
          for (const k of ['maxResponseBytes', 'timeoutMs'] as const) if (s[k] !== undefined) doc.setIn(['services', s.name, k], s[k]);
          newServices.push(s.name);
        }
      });
    }
    const list = (a: string[]) => (a.length ? a.join(', ') : 'none');
    info(
      this.context.stderr,
      `imported secrets: ${list(added)}${replaced.length ? `; replaced: ${list(replaced)}` : ''}${same.length ? `; already there: ${list(same)}` : ''}`,
    );
    if (!this.noConfig)
      info(
        this.context.stderr,
        `services added to config.yaml: ${list(newServices)}${keptServices.length ? `; kept the existing config of: ${list(keptServices)}` : ''}`,
      );
    if (this.noConfig && contents.services.length) warn(this.context.stderr, 'services in the file were not added (--no-config)');
    // As `janee add` says it: no `policies:` key means any request, and this file's author chose that.
    for (const s of contents.services) {
      if (newServices.includes(s.name) && s.policies === undefined)
        warn(this.context.stderr, `${s.name} has no allow rules: the agent may now call any method on any path under ${s.baseUrl}`);
    }
    if (this.json) {
      const entries = [...added, ...replaced, ...same].sort();
      this.outJson({
        file: this.age,
        entries,
        added,
        replaced,
        unchanged: same,
        services: { added: newServices, kept: keptServices, skipped: this.noConfig ? contents.services.map((s) => s.name) : [] },
      });
    }
    return 0;
  }
}
