/**
 * When each agent token was last used, per vault: non-secret, per machine, so it
 * lives in the state directory (state.ts), not in the vault (which would change,
 * and need the key, on every request). serve records uses in memory and writes
 * them at most every FLUSH_MS and when it stops; `janee agents list` reads them.
 * Several serves may write: each merges what is on disk, keeping the later time.
 */
import * as path from 'node:path';
import { atomicWrite, ensureDir } from './fsutil.js';
import { stateDirs } from './state.js';
import { readAtMost } from './bounded.js';

const FILE = 'agents-last-used.json';
const FLUSH_MS = 10_000;

type Table = Record<string, Record<string, string>>;

async function readTable(file: string): Promise<Table> {
  try {
    const v: unknown = JSON.parse((await readAtMost(file, 1024 * 1024, { regularOnly: true })).toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Table) : {};
  } catch {
    return {}; // missing or damaged: it is only a convenience
  }
}

/** Agent name → ISO time of last use, for `vaultFile` (the latest over every state directory). */
export async function readLastUsed(vaultFile: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const dir of stateDirs()) {
    const rows = (await readTable(path.join(dir, FILE)))[vaultFile];
    if (typeof rows !== 'object' || rows === null) continue;
    for (const [name, at] of Object.entries(rows)) {
      if (typeof at === 'string' && (out[name] === undefined || at > out[name])) out[name] = at;
    }
  }
  return out;
}

export class LastUsed {
  readonly #pending = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(private readonly vaultFile: string) {}

  note(agent: string): void {
    this.#pending.set(agent, new Date().toISOString());
    this.#timer ??= setTimeout(() => void this.flush(), FLUSH_MS).unref();
  }

  /** Writes what was noted (errors ignored: last-used is a convenience, never worth failing a call). */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.size === 0) return this.#writing;
    const rows = Object.fromEntries(this.#pending);
    this.#pending.clear();
    this.#writing = this.#writing.then(() => this.#write(rows)).catch(() => undefined);
    return this.#writing;
  }

  async #write(rows: Record<string, string>): Promise<void> {
    for (const dir of stateDirs()) {
      const file = path.join(dir, FILE);
      await ensureDir(dir);
      const table = await readTable(file);
      const mine = (table[this.vaultFile] ??= {});
      for (const [name, at] of Object.entries(rows)) if (!(typeof mine[name] === 'string' && mine[name] >= at)) mine[name] = at;
      await atomicWrite(file, `${JSON.stringify(table)}\n`);
    }
  }
}
