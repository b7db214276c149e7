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
      if (entries.length === 0 && !this.json) info(this.context.stderr, 'no audit entries yet');
      entries.forEach(print);
      return 0;
    }
    const ac = new AbortController();
    process.once('SIGINT', () => ac.abort());
    process.once('SIGTERM', () => ac.abort());
    await followEntries(auditDir(), opts, print, ac.signal);
    return 0;
  }
}

export class LogsVerifyCommand extends JaneeCommand {
  static override paths = [['logs', 'verify']];
  static override usage = Command.Usage({ description: 'Check the audit log hash chain: exit 1 on any edited, deleted or reordered entry' });

  json = jsonOption();

  async run(): Promise<number> {
    const r = await verifyAudit(auditDir());
    if (this.json) {
      this.out(JSON.stringify(r));
      return r.ok ? 0 : 1;
    }
    if (r.ok) {
      info(this.context.stderr, `audit log ok: ${r.entries} entries, chain intact`);
      return 0;
    }
    for (const p of r.problems) this.context.stderr.write(clean(`janee: ${p.file}:${p.line}: ${p.message}`) + '\n');
    throw new JaneeError('AUDIT_TAMPERED', `audit log is not intact: ${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} in ${r.entries} entries`, 'restore the audit directory from a backup; the lines above say where the chain breaks');
  }
}
