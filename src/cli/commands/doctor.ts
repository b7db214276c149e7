import { Command } from 'clipanion';
import { JaneeCommand, jsonOption } from '../base.js';
import { runChecks, type Check } from '../doctor-checks.js';
import { clean } from '../io.js';

const LABEL: Record<Check['status'], string> = { ok: 'ok', warning: 'warning', problem: 'PROBLEM', skipped: 'skipped' };

export class DoctorCommand extends JaneeCommand {
  static override paths = [['doctor']];
  static override usage = Command.Usage({
    description: 'Check config, vault, file modes, the agent, origin bindings, kill switch, audit log and git drivers',
    details: `
      Each check prints ok, warning, PROBLEM or skipped, with the fix for anything not ok.
      It never prompts: the origin bindings are checked through an unlocked agent, or with
      JANEE_PASSPHRASE_FILE / JANEE_PASSPHRASE; otherwise they are skipped.
      Exit 0 when there is no problem (warnings allowed), 1 otherwise.
    `,
    examples: [
      ['Check everything', 'janee doctor'],
      ['As JSON', 'janee doctor --json'],
    ],
  });

  json = jsonOption();

  async run(): Promise<number> {
    const checks = await runChecks({ io: this.io, env: process.env });
    const problems = checks.filter((c) => c.status === 'problem').length;
    const warnings = checks.filter((c) => c.status === 'warning').length;
    if (this.json) {
      this.out(JSON.stringify({ ok: problems === 0, problems, warnings, checks }));
    } else {
      const width = Math.max(...checks.map((c) => c.name.length));
      for (const c of checks) {
        this.out(clean(`${LABEL[c.status].padEnd(7)}  ${c.name.padEnd(width)}  ${c.message}`));
        if (c.fix) this.out(clean(`${' '.repeat(7)}  ${' '.repeat(width)}  fix: ${c.fix}`));
      }
      this.out(`${problems} problem${problems === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`);
    }
    return problems === 0 ? 0 : 1;
  }
}
