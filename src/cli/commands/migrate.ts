/**
 * `janee migrate`: moving in.
 *
 * 1. Inline secrets: a config.yaml with `auth: { type: bearer, key: sk_… }` → the secret
 *    goes into the vault (bound to the service's origin) and out of config.yaml, which is
 *    rewritten through the YAML document API (comments and order kept), atomically and
 *    without a .bak holding the old plaintext.
 * 2. A Janee 0.x home (the original Janee, 0.1–0.16; `--from DIR`, or detected in JANEE_HOME):
 *    services, secrets (AES-256-GCM under the old plaintext master key) and capability rules → config.yaml
 *    services with policies + vault entries. See src/migrate/legacy.ts for the accepted
 *    files and src/migrate/rules.ts for how rules become policies (never wider).
 *    Migrating the home in place keeps the old config.yaml as config.yaml.0x.
 *    Afterwards it offers to delete the old plaintext master key; `--delete-old-key` is refused
 *    while a service was skipped (its secret would be lost with the key) unless `--force`.
 */
import { Command, Option } from 'clipanion';
import { stringify } from 'yaml';
import { realpathSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { JaneeError } from '../../errors.js';
import { addServiceNode, editConfig, hasService } from '../../config/edit.js';
import { parseConfigText, readConfigText, validateConfig, type ParsedConfigFile } from '../../config/load.js';
import type { JaneeConfig } from '../../config/types.js';
import { execBinding } from '../../exec/binding.js';
import { vaultPath } from '../../config/paths.js';
import { findInlineSecrets, removeInlineSecrets } from '../../migrate/inline.js';
import {
  LEGACY_RELEASES,
  looksLegacy,
  looksLegacyCredentials,
  planLegacy,
  rewriteLegacyConfig,
  type LegacyPlan,
} from '../../migrate/legacy.js';
import { describePolicy } from '../../migrate/rules.js';
import { commandObject, execBindings } from '../../migrate/commands.js';
import { atomicWrite, withLock } from '../../util/fsutil.js';
import { readAtMost, TooLargeError } from '../../util/bounded.js';
import { secret } from '../../util/secret.js';
import { WARN_BELOW_LOG_N } from '../../vault/format.js';
import { sameEntry } from '../../vault/merge.js';
import { createVaultFile, unlockVaultFile, updateVault, vaultExists, type UnlockedVault } from '../../vault/store.js';
import type { VaultEntry } from '../../vault/types.js';
import { JaneeCommand, jsonOption, passphraseStdinOption } from '../base.js';
import { clean, info, warn, withProgress } from '../io.js';
import { getPassphrase, readStdinLine } from '../passphrase.js';
import { parseWorkFactor } from './init.js';

interface NewEntry {
  name: string;
  entry: VaultEntry;
}

export class MigrateCommand extends JaneeCommand {
  static override paths = [['migrate']];
  static override usage = Command.Usage({
    description: `Move inline secrets from config.yaml into the vault, or import a Janee 0.x home (${LEGACY_RELEASES})`,
    details: `
      With no --from: if config.yaml has secrets written inline, they move into the vault (each bound
      to its service's origin) and out of config.yaml, keeping its comments. If JANEE_HOME is a Janee
      0.x home (the original Janee, ${LEGACY_RELEASES}: its config.yaml has a masterKey, capabilities or a
      0.x version; from 0.13 on the secrets are in credentials.json beside it), it is converted in
      place; the old config.yaml is kept as config.yaml.0x.

      With --from DIR, the Janee 0.x home in DIR is imported into this janee: its services and secrets, and its
      capability rules as policies where they can be said exactly. What cannot is reported, always on
      the narrower side: migrate never allows a request 0.x would have refused. Every auth type 0.x
      wrote is converted (docs/dotfiles.md has the table); a service that cannot be (no secret, an
      invalid name or URL) is skipped and named.

      A missing vault is created (new passphrase asked twice, or JANEE_PASSPHRASE). Afterwards
      migrate offers to delete the old plaintext master key: it asks on a terminal; otherwise pass
      the flag --delete-old-key, or it prints where the key still is. Deleting the key is refused
      while any service was skipped (without the key its secret is lost), unless --force.
    `,
    examples: [
      ['Move inline secrets into the vault', 'janee migrate'],
      ['See what an import would do', 'janee migrate --from ~/.janee-old --dry-run'],
      ['Import, and delete the old key', 'janee migrate --from ~/.janee-old --delete-old-key'],
    ],
  });

  from = Option.String('--from', { description: 'A Janee 0.x home to import (default: detect in JANEE_HOME)' });
  dryRun = Option.Boolean('--dry-run', false, { description: 'Report what would happen; change nothing' });
  force = Option.Boolean('--force', false, {
    description: 'Replace vault secrets of the same name that differ; with --delete-old-key, delete it even though services were skipped',
  });
  deleteOldKey = Option.Boolean('--delete-old-key', false, {
    description: 'Delete the 0.x plaintext master key afterwards without asking (refused while a service was skipped, unless --force)',
  });
  workFactor = Option.String('--work-factor', { description: "log2 of scrypt's N if the vault has to be created (default 18)" });
  passphraseStdin = passphraseStdinOption();
  json = jsonOption();

  async run(): Promise<number> {
    const configFile = this.configFile;
    if (this.from !== undefined) {
      const dir = path.resolve(this.from);
      return this.legacy(dir, path.join(dir, 'config.yaml'), configFile);
    }
    const text = await readConfigText(configFile);
    const dir = path.dirname(configFile);
    if (text === undefined) {
      if (await exists(path.join(dir, 'credentials.json'))) {
        throw new JaneeError(
          'MIGRATE_BAD_LEGACY',
          `${dir} has a credentials.json but no config.yaml`,
          'point --from at the Janee 0.x home that holds both',
        );
      }
      throw new JaneeError(
        'CONFIG_MISSING',
        `${configFile} does not exist: nothing to migrate`,
        'run `janee init`, or `janee migrate --from DIR` to import a Janee 0.x home',
      );
    }
    const parsed = parseConfigText(configFile, text);
    // Not by credentials.json alone: it stays beside the janee 1 config.yaml an in-place migration writes.
    if (looksLegacy(parsed.doc.toJS())) return this.legacy(dir, configFile, configFile);
    if (await exists(path.join(dir, 'credentials.json'))) {
      warn(this.context.stderr, `${path.join(dir, 'credentials.json')} is there, but ${configFile} is not a Janee 0.x config; ignoring it`);
    }
    return this.inline(configFile, text, parsed);
  }

  // -------------------------------------------------------------------------
  // inline secrets

  private async inline(configFile: string, text: string, parsed: ParsedConfigFile): Promise<number> {
    const stderr = this.context.stderr;
    const moves = findInlineSecrets(parsed.doc.toJS());
    if (moves.length === 0) {
      info(stderr, `nothing to migrate: ${configFile} has no secrets written inline`);
      return this.done('inline', [], [], false);
    }
    removeInlineSecrets(parsed.doc, moves);
    const out = parsed.doc.toString();
    const config = validateConfig(parseConfigText(configFile, out), configFile);
    for (const m of moves) info(stderr, `${m.service}: secret moves into the vault, bound to ${m.origin}`);
    const migrated = moves.map((m) => m.service);
    if (this.dryRun) {
      info(stderr, 'dry run: nothing was changed');
      return this.done('inline', migrated, [], false);
    }
    const now = new Date().toISOString();
    const entries: NewEntry[] = moves.map((m) => ({
      name: m.service,
      entry: { fields: m.fields, origins: [m.origin], created: now, updated: now },
    }));
    try {
      await this.addToVault(vaultPath(config.vaultPath), entries);
      await withLock(configFile, async () => {
        if ((await readConfigText(configFile)) !== text) {
          throw new JaneeError(
            'CONFIG_CHANGED',
            `${configFile} changed while migrating; the secrets are in the vault now`,
            'run `janee migrate` again to finish',
          );
        }
        // No .bak: it would keep the plaintext secrets.
        await atomicWrite(configFile, out, { backup: false });
      });
      await this.dropBackupHolding(
        configFile,
        entries.flatMap((e) => Object.values(e.entry.fields)),
      );
    } finally {
      for (const e of entries) for (const k of Object.keys(e.entry.fields)) e.entry.fields[k] = '';
    }
    info(stderr, `moved ${moves.length} secret${moves.length === 1 ? '' : 's'} into the vault and out of ${configFile} (comments kept)`);
    warn(stderr, 'they were in plain text: if config.yaml was ever committed, synced or backed up, rotate them at the provider');
    return this.done('inline', migrated, [], false);
  }

  /** The --json report (docs/json.md): service names and reasons only, never a secret. */
  private done(kind: 'inline' | 'legacy', migrated: string[], skipped: LegacyPlan['skipped'], deletedOldKey: boolean): number {
    if (this.json) {
      this.outJson({
        kind,
        migrated,
        skipped: skipped.map((s) => ({ service: s.name, reason: s.reason })),
        dryRun: this.dryRun,
        deletedOldKey,
      });
    }
    return 0;
  }

  // -------------------------------------------------------------------------
  // Janee 0.x

  private async legacy(dir: string, legacyConfig: string, configFile: string): Promise<number> {
    const stderr = this.context.stderr;
    const text = await readConfigText(legacyConfig);
    if (text === undefined) {
      if (await exists(path.join(dir, 'config.db'))) {
        throw new JaneeError(
          'MIGRATE_UNSUPPORTED',
          `${dir} holds a SQLite config store (config.db, from an unreleased Janee build), which migrate cannot read`,
          'with the old janee, export its config to config.yaml, or add the services again with `janee add`',
        );
      }
      throw new JaneeError(
        'MIGRATE_BAD_LEGACY',
        `no config.yaml in ${dir}`,
        `point --from at a Janee 0.x home (${LEGACY_RELEASES}: it holds config.yaml and, from 0.13 on, credentials.json)`,
      );
    }
    const legacyParsed = parseConfigText(legacyConfig, text);
    const inPlace = samePath(legacyConfig, configFile);
    const credFile = path.join(dir, 'credentials.json');
    const credentials = await readCredentials(credFile);
    if (!looksLegacy(legacyParsed.doc.toJS()) && (inPlace || !looksLegacyCredentials(credentials))) {
      // A janee 1 config (or something else): converting it "in place" would drop its services.
      throw new JaneeError(
        'MIGRATE_BAD_LEGACY',
        `${legacyConfig} is not a Janee 0.x config (no masterKey, capabilities, server or version 0.2.0/0.3.0${inPlace ? '' : ', and no credentials.json with a masterKey beside it'})`,
        inPlace ? 'run `janee migrate` without --from to move inline secrets' : `point --from at a Janee 0.x home (${LEGACY_RELEASES})`,
      );
    }
    const plan = planLegacy({ config: legacyParsed.doc.toJS(), configFile: legacyConfig, credentials, credentialsFile: credFile });
    this.report(plan);

    // Deleting the key makes the skipped services' secrets unreadable: say so before changing anything.
    const keyRefused = this.deleteOldKey && plan.masterKeyIn !== undefined && plan.skipped.length > 0 && !this.force;
    if (this.dryRun) {
      if (keyRefused) warn(stderr, `--delete-old-key would be refused: ${skippedList(plan)} skipped`);
      info(stderr, 'dry run: nothing was changed');
      return this.done(
        'legacy',
        plan.services.map((s) => s.name),
        plan.skipped,
        false,
      );
    }
    if (keyRefused) {
      throw new JaneeError(
        'MIGRATE_SKIPPED',
        `not deleting the old master key: ${skippedList(plan)} skipped, and only that key decrypts their secrets; nothing was changed`,
        'run it without --delete-old-key (and delete the key once you have moved those services by hand), or add --force to delete it anyway',
      );
    }

    // The target config: rewritten in place, or the services added to ours.
    let newText: string | undefined;
    let vaultFile: string;
    let already = new Set<string>();
    // The commands as the new config.yaml defines them: their bindings pin these definitions.
    let planned: JaneeConfig['commands'];
    if (inPlace) {
      rewriteLegacyConfig(legacyParsed.doc, plan);
      newText = legacyParsed.doc.toString();
      const cfg = validateConfig(parseConfigText(configFile, newText), configFile);
      vaultFile = vaultPath(cfg.vaultPath);
      planned = cfg.commands;
    } else {
      const ours = await this.config({ allowMissing: true });
      vaultFile = vaultPath(ours.vaultPath);
      if (plan.commands.length > 0) {
        const only = stringify({ commands: Object.fromEntries(plan.commands.map((c) => [c.name, commandObject(c)])) });
        planned = validateConfig(parseConfigText(configFile, only), configFile).commands;
      }
      already = new Set(plan.services.filter((s) => ours.services.has(s.name)).map((s) => s.name));
    }

    const now = new Date().toISOString();
    const entries: NewEntry[] = plan.services.map((s) => ({
      name: s.name,
      // 0.x let these commands have the secret: the vault says so now (exec:COMMAND, docs/exec.md).
      entry: {
        fields: s.fields,
        origins: [s.origin, ...execBindings(plan.commands, s.name).map((b) => pinBinding(b, planned))],
        created: now,
        updated: now,
      },
    }));
    try {
      await this.addToVault(vaultFile, entries, already);
    } finally {
      for (const s of plan.services) for (const k of Object.keys(s.fields)) s.fields[k] = '';
    }

    if (inPlace) {
      const keep = `${configFile}.0x`;
      if (!(await exists(keep))) await atomicWrite(keep, text, { backup: false });
      await withLock(configFile, async () => {
        if ((await readConfigText(configFile)) !== text) {
          throw new JaneeError(
            'CONFIG_CHANGED',
            `${configFile} changed while migrating; the secrets are in the vault now`,
            'run `janee migrate` again to finish',
          );
        }
        await atomicWrite(configFile, newText as string, { backup: false });
      });
      await this.dropBackupHolding(configFile, []);
      info(stderr, `rewrote ${configFile} for janee 1 (the 0.x file is kept as ${keep})`);
    } else if (plan.services.some((s) => !already.has(s.name)) || plan.commands.length > 0) {
      await editConfig(configFile, (doc) => {
        for (const s of plan.services) {
          if (already.has(s.name) || hasService(doc, s.name)) continue;
          addServiceNode(doc, { name: s.name, baseUrl: s.baseUrl, auth: s.auth, ...(s.policies ? { policies: s.policies } : {}) });
        }
        for (const c of plan.commands) {
          if (doc.hasIn(['commands', c.name]) || hasService(doc, c.name)) {
            info(stderr, `${c.name}: note: config.yaml already has a command or service of that name; the 0.x command was not added`);
            continue;
          }
          doc.setIn(['commands', c.name], doc.createNode(commandObject(c)));
        }
      });
    }
    const n = plan.services.length;
    info(
      stderr,
      `imported ${n} service${n === 1 ? '' : 's'} with ${n === 1 ? 'its secret' : 'their secrets'}${plan.skipped.length ? `; skipped ${plan.skipped.length} (see above)` : ''}`,
    );
    const deleted = await this.offerKeyDeletion(dir, inPlace, plan);
    return this.done(
      'legacy',
      plan.services.map((s) => s.name),
      plan.skipped,
      deleted,
    );
  }

  private report(plan: LegacyPlan): void {
    const stderr = this.context.stderr;
    for (const s of plan.services) {
      const pol =
        s.policies === undefined
          ? 'any request (as in 0.x)'
          : s.policies.length === 0
            ? 'nothing allowed (policies: [])'
            : s.policies.map(describePolicy).join('; ');
      info(stderr, clean(`${s.name}: ${s.baseUrl} (${s.auth.type}), secret bound to ${s.origin}; policies: ${pol}`));
    }
    for (const n of plan.notes) info(stderr, clean(`${n.service}: note: ${n.note}`));
    for (const s of plan.skipped) warn(stderr, clean(`${s.name}: skipped: ${s.reason}`));
  }

  /** Unlocks (or creates) the vault and adds the entries; the same value already there is fine. */
  private async addToVault(file: string, entries: NewEntry[], skip: Set<string> = new Set()): Promise<void> {
    const vault = await this.openOrCreate(file);
    try {
      await updateVault(file, vault.fileKey, (data) => {
        const clash: string[] = [];
        const inConfig: string[] = [];
        for (const { name, entry } of entries) {
          const have = Object.hasOwn(data.entries, name) ? data.entries[name] : undefined;
          if (have && sameEntry(have, entry)) continue; // done by an earlier run
          if (skip.has(name)) inConfig.push(name);
          else if (have && !this.force) clash.push(name);
        }
        if (inConfig.length) {
          throw new JaneeError(
            'CONFIG_DUPLICATE',
            `config.yaml already has services named ${inConfig.map((c) => `"${c}"`).join(', ')}; nothing was changed`,
            'rename or `janee remove` them first',
          );
        }
        if (clash.length) {
          throw new JaneeError(
            'VAULT_DUPLICATE',
            `the vault already holds different secrets named ${clash.map((c) => `"${c}"`).join(', ')}; nothing was changed`,
            'pass --force to replace them, or `janee remove` them first',
          );
        }
        for (const { name, entry } of entries) {
          const have = Object.hasOwn(data.entries, name) ? data.entries[name] : undefined;
          if (have && sameEntry(have, entry)) continue;
          data.entries[name] = { ...entry, fields: { ...entry.fields }, origins: [...entry.origins] };
        }
      });
    } finally {
      vault.fileKey.fill(0);
    }
  }

  /** Unlocks the vault, creating it first if there is none. The passphrase is wiped here; the caller wipes vault.fileKey. */
  private async openOrCreate(file: string): Promise<UnlockedVault> {
    const stderr = this.context.stderr;
    if (await vaultExists(file)) {
      using passphrase = secret(
        (await getPassphrase(this.io, { fromStdin: this.passphraseStdin, prompt: 'vault passphrase: ' })).passphrase,
      );
      return await withProgress(stderr, 'unlocking vault', unlockVaultFile(file, passphrase.bytes));
    }
    const logN = parseWorkFactor(this.workFactor);
    if (logN < WARN_BELOW_LOG_N) warn(stderr, `work factor 2^${logN} is weak against passphrase guessing; use it for tests only`);
    info(stderr, `no vault yet: creating ${file}`);
    using passphrase = secret(
      (await getPassphrase(this.io, { fromStdin: this.passphraseStdin, confirm: true, prompt: 'new vault passphrase: ' })).passphrase,
    );
    await withProgress(stderr, `creating vault (scrypt 2^${logN})`, createVaultFile(file, passphrase.bytes, logN));
    return await withProgress(stderr, 'unlocking vault', unlockVaultFile(file, passphrase.bytes));
  }

  /** A `<config>.bak` from an earlier edit may still hold what we just removed: delete it. */
  private async dropBackupHolding(configFile: string, secrets: string[]): Promise<void> {
    const bak = `${configFile}.bak`;
    const old = await fs.readFile(bak, 'utf8').catch(() => undefined);
    if (old === undefined) return;
    const js = (() => {
      try {
        return parseConfigText(bak, old).doc.toJS() as unknown;
      } catch {
        return undefined;
      }
    })();
    const holds = secrets.some((s) => s.length > 0 && old.includes(s)) || looksLegacy(js) || findInlineSecretsSafe(js);
    if (!holds) return;
    await fs.rm(bak, { force: true });
    info(this.context.stderr, `deleted ${bak}: it held secrets in plain text`);
  }

  /** True when the old master key was deleted. */
  private async offerKeyDeletion(dir: string, inPlace: boolean, plan: LegacyPlan): Promise<boolean> {
    const stderr = this.context.stderr;
    if (!plan.masterKeyIn) return false;
    const file =
      plan.masterKeyIn === 'credentials.json'
        ? path.join(dir, 'credentials.json')
        : inPlace
          ? `${path.join(dir, 'config.yaml')}.0x`
          : path.join(dir, 'config.yaml');
    if (!(await exists(file))) return false;
    const lost = plan.skipped.length
      ? ` The secrets of the skipped services (${plan.skipped.map((s) => s.name).join(', ')}) cannot be decrypted without it.`
      : '';
    let yes = this.deleteOldKey;
    if (!yes) {
      const io = this.io;
      if (io.stdin.isTTY && io.stderr.isTTY) {
        stderr.write(`janee: the old plaintext master key is in ${file}.${lost} Delete it now? [y/N] `);
        const answer = Buffer.from(await readStdinLine(io.stdin))
          .toString('utf8')
          .trim()
          .toLowerCase();
        yes = answer === 'y' || answer === 'yes';
      }
    }
    if (!yes) {
      const how =
        inPlace && plan.masterKeyIn === 'config.yaml'
          ? `rm ${file}`
          : `janee migrate --from ${dir} --delete-old-key, or remove the masterKey by hand`;
      warn(
        stderr,
        `the old plaintext master key is still in ${file}: anyone who reads it can decrypt the 0.x secrets. Delete it when you are done (${how})`,
      );
      return false;
    }
    await removeMasterKey(file);
    info(stderr, `deleted the old master key from ${file}${lost ? " (the skipped services' secrets are now unreadable)" : ''}`);
    info(stderr, 'deleting a file does not guarantee the disk forgets it (SSDs, snapshots, backups): rotate the secrets if that matters');
    return true;
  }
}

function findInlineSecretsSafe(js: unknown): boolean {
  try {
    return findInlineSecrets(js).length > 0;
  } catch {
    return true; // something secret-like that cannot be moved: still a secret
  }
}

/** Removes the masterKey from credentials.json or a 0.x config.yaml (atomically, no .bak). */
async function removeMasterKey(file: string): Promise<void> {
  const text = await fs.readFile(file, 'utf8');
  if (file.endsWith('.json')) {
    const json = JSON.parse(text) as Record<string, unknown>;
    delete json['masterKey'];
    await atomicWrite(file, `${JSON.stringify(json, null, 2)}\n`, { backup: false });
    return;
  }
  const parsed = parseConfigText(file, text);
  parsed.doc.delete('masterKey');
  await atomicWrite(file, parsed.doc.toString(), { backup: false });
}

function skippedList(plan: LegacyPlan): string {
  const n = plan.skipped.length;
  return `${n} service${n === 1 ? ' was' : 's were'} (${plan.skipped.map((s) => s.name).join(', ')})`;
}

/** 0.x kept one small JSON object per service: 16 MiB is thousands of services. */
const MAX_CREDENTIALS_BYTES = 16 * 1024 * 1024;

/** credentials.json parsed, or undefined when there is none. Never quotes the file in an error. */
async function readCredentials(file: string): Promise<unknown> {
  // Bounded, regular files only: a FIFO or a link to /dev/zero in an old home fails, not hangs.
  const text = await readAtMost(file, MAX_CREDENTIALS_BYTES, { regularOnly: true }).then(
    (b) => b.toString('utf8'),
    (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      const why = e instanceof TooLargeError ? `larger than ${MAX_CREDENTIALS_BYTES} bytes` : (e.code ?? 'error');
      throw new JaneeError('MIGRATE_BAD_LEGACY', `cannot read ${file} (${why})`);
    },
  );
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Never pass the SyntaxError on: it quotes the file.
    throw new JaneeError(
      'MIGRATE_BAD_LEGACY',
      `${file} is not valid JSON`,
      'expected { "masterKey": "…", "secrets": { "<service>": { … } } }',
    );
  }
}

function samePath(a: string, b: string): boolean {
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  return real(a) === real(b);
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}

/** `exec:NAME` pinned to the definition the migrated config.yaml gives NAME (src/exec/binding.ts). */
function pinBinding(binding: string, commands: JaneeConfig['commands']): string {
  const cmd = commands?.get(binding.slice('exec:'.length));
  return cmd ? execBinding(cmd) : binding;
}
