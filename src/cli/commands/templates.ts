import { Command, Option } from 'clipanion';
import { JaneeCommand, jsonOption } from '../base.js';
import { searchTemplates, similarTemplateNames, templateJson, type Template } from '../templates.js';

export class TemplatesCommand extends JaneeCommand {
  static override paths = [['templates']];
  static override usage = Command.Usage({
    description: 'Search the built-in catalogue of APIs that `janee add NAME` can fill in',
    details: `
      QUERY matches template names, titles and tags (e.g. \`email\`, \`ai\`, \`git\`); without it every template is listed.
      Each template has the API's auth type, a read-only starting policy and a test path.
    `,
    examples: [
      ['All templates', 'janee templates'],
      ['Search', 'janee templates email'],
      ['As JSON', 'janee templates github --json'],
    ],
  });

  query = Option.String({ name: 'query', required: false });
  json = jsonOption();

  run(): Promise<number> {
    return Promise.resolve(this.print());
  }

  private print(): number {
    const found = searchTemplates(this.query);
    if (this.json) {
      this.out(JSON.stringify(found.map(templateJson), null, 2));
      return 0;
    }
    if (found.length === 0) {
      const close = similarTemplateNames(this.query ?? '');
      this.context.stderr.write(
        `janee: no template matches${close.length ? ` (did you mean ${close.join(', ')}?)` : ''}; \`janee templates\` lists them all, and \`janee add NAME --base-url URL\` adds any other API\n`,
      );
      return 1;
    }
    const rows = found.map((t) => [t.name, t.title, authText(t), t.baseUrl, t.testPath ?? '-']);
    const head = ['NAME', 'API', 'AUTH', 'BASE URL', 'TEST PATH'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
    for (const r of [head, ...rows]) this.out(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number))).join('  '));
    if (found.length === 1 || found[0]?.name === this.query?.trim().toLowerCase()) {
      const t = found[0] as Template; // one match, or the exact name first
      this.out('');
      this.out(`read-only starting policy: ${t.policies.map((p) => `${p.methods.join(',')} ${p.path}`).join(', ')}`);
      if (t.note) this.out(`note: ${t.note}`);
      this.out(`docs: ${t.docs}`);
      if (t.usernameLabel) this.out(`--username: the ${t.usernameLabel}`);
      this.out(
        `add it: janee add ${t.name}${t.baseUrlRequired ? ` --base-url ${t.baseUrl}` : ''}${t.usernameLabel ? ' --username …' : ''}`,
      );
    }
    return 0;
  }
}

function authText(t: Template): string {
  const a = t.auth;
  if (a.type === 'header') return `header ${a.name}`;
  if (a.type === 'query') return `query ${a.param}`;
  if (a.type === 'basic') return t.username !== undefined ? `basic, user ${t.username}` : 'basic, --username';
  return a.type;
}
