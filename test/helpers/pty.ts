/**
 * Runs a program under a pseudo-terminal (util-linux `script`) and answers its
 * prompts, for programs that read secrets only from /dev/tty (like `age -p`).
 *
 *   script -qec "<quoted argv>" /dev/null
 *
 * -q: no "Script started" banner, -e: exit with the child's status, -c: the
 * command, /dev/null: no typescript file. script copies our stdin to the pty
 * master and the pty output to our stdout. Each reply is written only after its
 * prompt shows up in the output, so it cannot race the program's switch to
 * no-echo mode. Keep file data off the terminal (use -o / file arguments): a
 * pty translates line endings.
 */
import { spawn, spawnSync } from 'node:child_process';

export interface PtyStep {
  /** Text (or pattern) in the program's terminal output that must appear before `send` is typed. */
  waitFor: string | RegExp;
  /** What to type, e.g. 'passphrase\n'. */
  send: string;
}

export interface PtyResult {
  /** Exit status of the program (script -e passes it through); null if killed by a signal. */
  code: number | null;
  /** Everything the program wrote to the terminal (stdout and stderr are the same pty). */
  output: string;
}

export function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** True if `name` is an executable on PATH. */
export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${shellQuote(name)}`], { stdio: 'ignore' }).status === 0;
}

/** True if util-linux `script` (with -e and -c) can run here. */
export function hasPty(): boolean {
  return hasCommand('script') && spawnSync('script', ['-qec', 'true', '/dev/null'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

export function runUnderPty(argv: string[], steps: PtyStep[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<PtyResult> {
  const command = argv.map(shellQuote).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], {
    cwd: opts.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, TERM: process.env['TERM'] ?? 'dumb' },
  });
  let output = '';
  let searchFrom = 0;
  let next = 0;

  const pump = (): void => {
    while (next < steps.length) {
      const step = steps[next] as PtyStep;
      const rest = output.slice(searchFrom);
      let end: number;
      if (typeof step.waitFor === 'string') {
        const at = rest.indexOf(step.waitFor);
        if (at < 0) return;
        end = at + step.waitFor.length;
      } else {
        const m = step.waitFor.exec(rest);
        if (!m) return;
        end = m.index + m[0].length;
      }
      searchFrom += end;
      next++;
      child.stdin.write(step.send);
    }
  };

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out under pty: ${command}\n--- output so far ---\n${output}`));
    }, opts.timeoutMs ?? 60_000);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      output += d;
      pump();
    });
    child.stderr.on('data', (d: string) => {
      output += d;
    });
    child.stdin.on('error', () => {
      /* the program may exit before reading everything */
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      child.stdin.destroy();
      resolve({ code, output });
    });
  });
}
