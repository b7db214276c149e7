/**
 * janee's per-machine state directories, outside JANEE_HOME (which a dotfiles repo
 * may sync): what this machine has seen must not travel with the files it guards.
 *
 * `$XDG_STATE_HOME/janee` when XDG_STATE_HOME is an absolute path, and always
 * `~/.local/state/janee`. MCP clients start serve with a minimal environment (HOME,
 * PATH, USER…), so a serve may not see the XDG_STATE_HOME of the shell that ran a
 * command: records are written to every directory and read from all of them.
 */
import * as os from 'node:os';
import * as path from 'node:path';

/** The state directories, most specific first. */
export function stateDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const home = env.HOME && path.isAbsolute(env.HOME) ? env.HOME : os.homedir();
  const fallback = path.join(home, '.local', 'state', 'janee');
  const xdg = env.XDG_STATE_HOME;
  if (xdg && path.isAbsolute(xdg)) {
    const dir = path.join(xdg, 'janee');
    return dir === fallback ? [dir] : [dir, fallback];
  }
  return [fallback];
}
