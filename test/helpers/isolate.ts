/**
 * Runs before every test file (vitest setupFiles): a private HOME per test worker,
 * so nothing a test runs (janee's per-machine state in ~/.local/state/janee, git's
 * global config, age) reads or writes the real user's files.
 */
import { mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const home = mkdtempSync(path.join(os.tmpdir(), 'janee-test-home-'));
process.env.HOME = home;
delete process.env.XDG_STATE_HOME;
