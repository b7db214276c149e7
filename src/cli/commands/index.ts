/**
 * The command table: first word → the module that defines it, loaded on demand.
 * `janee serve` is started by MCP clients for every session, so it must not pay
 * for loading every other command's dependencies (and `janee add` must not load
 * the MCP SDK). Only `--help` and unknown words load them all.
 */
import type { CommandClass } from 'clipanion';
import { isVersionOnly } from '../version-only.js';

type Loader = () => Promise<CommandClass[]>;

const modules: Record<string, Loader> = {
  init: async () => [(await import('./init.js')).InitCommand],
  add: async () => [(await import('./add.js')).AddCommand],
  set: async () => [(await import('./set.js')).SetCommand],
  edit: async () => [(await import('./edit.js')).EditCommand],
  templates: async () => [(await import('./templates.js')).TemplatesCommand],
  completion: async () => [(await import('./completion.js')).CompletionCommand],
  remove: async () => [(await import('./remove.js')).RemoveCommand],
  list: async () => [(await import('./list.js')).ListCommand],
  status: async () => [(await import('./status.js')).StatusCommand],
  passwd: async () => [(await import('./passwd.js')).PasswdCommand],
  rekey: async () => [(await import('./passwd.js')).RekeyCommand],
  serve: async () => [(await import('./serve.js')).ServeCommand],
  killswitch: async () => [(await import('./killswitch.js')).KillswitchCommand],
  explain: async () => [(await import('./explain.js')).ExplainCommand],
  logs: async () => {
    const m = await import('./logs.js');
    return [m.LogsCommand, m.LogsVerifyCommand];
  },
  unlock: async () => [(await import('./unlock.js')).UnlockCommand],
  lock: async () => [(await import('./lock.js')).LockCommand],
  agent: async () => [(await import('./agent.js')).AgentCommand],
  bind: async () => [(await import('./bind.js')).BindCommand],
  agents: async () => {
    const m = await import('./agents.js');
    return [m.AgentsAddCommand, m.AgentsListCommand, m.AgentsRemoveCommand];
  },
  migrate: async () => [(await import('./migrate.js')).MigrateCommand],
  export: async () => [(await import('./export.js')).ExportCommand],
  import: async () => [(await import('./import.js')).ImportCommand],
  git: async () => [(await import('./git.js')).GitSetupCommand],
  test: async () => [(await import('./test.js')).TestCommand],
  doctor: async () => [(await import('./doctor.js')).DoctorCommand],
  approvals: async () => {
    const m = await import('./approvals.js');
    return [m.ApprovalsCommand, m.ApprovalsRevokeCommand];
  },
  approve: async () => [(await import('./approvals.js')).ApproveCommand],
  deny: async () => [(await import('./approvals.js')).DenyCommand],
  recipients: async () => {
    const m = await import('./recipients.js');
    return [m.RecipientsAddCommand, m.RecipientsListCommand, m.RecipientsRemoveCommand];
  },
  identity: async () => [(await import('./identity.js')).IdentityNewCommand],
  vault: async () => {
    const m = await import('./vault.js');
    return [m.VaultDiffTextCommand, m.VaultMergeCommand, m.VaultAcceptOlderCommand];
  },
};
const aliases: Record<string, string> = { rm: 'remove', ls: 'list' };

export function isCommandWord(word: string | undefined): boolean {
  return word !== undefined && (Object.hasOwn(modules, word) || Object.hasOwn(aliases, word));
}

/** The commands needed to run `argv`: just its own, none for `--version`, or all of them for help and unknown words. */
export async function commandsFor(argv: string[]): Promise<CommandClass[]> {
  const word = argv[0];
  if (isVersionOnly(argv)) return []; // clipanion's own VersionCommand answers
  const key = word !== undefined && Object.hasOwn(aliases, word) ? aliases[word] : word;
  const own = key !== undefined && Object.hasOwn(modules, key) ? modules[key] : undefined;
  if (own && !argv.includes('--help') && !argv.includes('-h')) return own();
  const all = await Promise.all(Object.values(modules).map((load) => load()));
  return [...new Set(all.flat())];
}
