import { Command, Option } from 'clipanion';
import { usageError } from '../../errors.js';
import { auditDir } from '../../config/paths.js';
import { followEntries, formatEntry, readEntries, verifyAudit, type AuditEntry, type ReadOptions } from '../../audit/index.js';
import { JaneeCommand, jsonOption } from '../base.js';
import { clean, info } from '../io.js';
import { JaneeError } from '../../errors.js';

export class LogsCommand extends JaneeCommand {
  static override paths = [['logs']];
  static override usage = Command.Usage({
    description: 'Show the audit log',
    examples: [
      ['Last 50 calls', 'janee logs -n 50'],
      ['Follow stripe calls', 'janee logs --follow --service stripe'],
      ['As JSON lines', 'janee logs --json'],
    ],
  });

  n = Option.String('-n,--lines', { description: 'Show the last N entries (default 20)' });
  follow = Option.Boolean('-f,--follow', false, { description: 'Keep printing new entries' });
  service = Option.String('--service', { description: 'Only this service' });
  agent = Option.String('--agent', { description: 'Only this agent' });
  json = jsonOption();

  async run(): Promise<number> {
    const limit = this.n === undefined ? 20 : Number(this.n);
    if (!Number.isInteger(limit) || limit < 0) throw usageError(`-n must be a whole number, got "${this.n}"`);
    const opts: ReadOptions = { limit };
    if (this.service !== undefined) opts.service = this.service;
    if (this.agent !== undefined) opts.agent = this.agent;
    const print = (e: AuditEntry) => this.out(this.json ? JSON.stringify(e) : formatEntry(e));
    if (!this.follow) {
      const entries = await readEntries(auditDir(), opts);
      if (entries.length === 0 && !this.json) info(this.context.stderr, await this.nothingFound());
      entries.forEach(print);
      return 0;
    }
    const ac = new AbortController();
    process.once('SIGINT', () => ac.abort());
    process.once('SIGTERM', () => ac.abort());
    await followEntries(auditDir(), opts, print, ac.signal);
    return 0;
  }

  /** Why nothing was printed: an empty log, or filters that match nothing in it. */
  private async nothingFound(): Promise<string> {
    const filters = [
      this.service === undefined ? '' : `--service ${clean(this.service)}`,
      this.agent === undefined ? '' : `--agent ${clean(this.agent)}`,
    ].filter(Boolean);
    if (filters.length === 0 || (await readEntries(auditDir(), { limit: 1 })).length === 0) return 'no audit entries yet';
    return `no audit entries match ${filters.join(' ')} (run \`janee logs\` without filters to see them all)`;
  }
}

export class LogsVerifyCommand extends JaneeCommand {
  static override paths = [['logs', 'verify']];
  static override usage = Command.Usage({
    description: 'Check the audit log: the hash chain, and the signed checkpoints (no passphrase needed)',
    details: `
      Exit 1 on any edited, deleted or reordered entry, and on any checkpoint that does not verify or does not match the log (a rewritten, re-chained log fails here).

      Entries after the last checkpoint (a gate still running, a crash, or a locked gate, which has no key to sign with) are reported as not signed, with exit 0; \`--require-signed\` makes them an error.
    `,
  });

  json = jsonOption();
  requireSigned = Option.Boolean('--require-signed', false, { description: 'Exit 1 if any entry is not covered by a signed checkpoint' });

  async run(): Promise<number> {
    const r = await verifyAudit(auditDir());
    const unsignedFails = this.requireSigned && r.unsigned > 0;
    if (this.json) {
      this.out(JSON.stringify(r));
      return r.ok && !unsignedFails ? 0 : 1;
    }
    const err = this.context.stderr;
    for (const w of r.warnings) err.write(clean(`janee: warning: ${w}`) + '\n');
    if (!r.ok) {
      for (const p of r.problems) err.write(clean(`janee: ${p.file}:${p.line}: ${p.message}`) + '\n');
      throw new JaneeError(
        'AUDIT_TAMPERED',
        `audit log is not intact: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} in ${r.entries} entries`,
        'restore the audit directory from a backup; the lines above say where the chain breaks',
      );
    }
    const range =
      r.entries === 0
        ? ''
        : r.anchor
          ? ` (seq ${r.first ?? r.anchor.seq + 1}..${r.last}, older files deleted by retention)`
          : ` (seq 1..${r.last})`;
    info(err, `audit log ok: ${r.entries} entries${range}, chain intact`);
    if (r.signed) info(err, clean(`signed up to seq ${r.signed.seq} (${r.signed.ts}, key ${r.signed.key})`));
    if (r.unsigned > 0) {
      const n = `${r.unsigned} ${r.unsigned === 1 ? 'entry' : 'entries'}`;
      const msg = r.signed ? `${n} after it ${r.unsigned === 1 ? 'is' : 'are'} not signed` : `${n}, none signed`;
      if (unsignedFails)
        throw new JaneeError(
          'AUDIT_UNSIGNED',
          `${msg}`,
          'a running gate signs at least every minute and on exit; a locked gate cannot sign',
        );
      err.write(
        `janee: warning: ${msg} (a gate still running, a crash, or entries written while the vault was locked): they are chained but not signed\n`,
      );
    }
    return 0;
  }
}
