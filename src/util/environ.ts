/**
 * A process's initial environment block (the strings its parent handed to exec) stays in
 * its memory for life, and /proc/<pid>/environ shows it to every process of the same
 * user — a program janee runs for exec included, whose parent is serve. `delete
 * process.env.X` (unsetenv) drops libc's pointer to the string, not the bytes.
 *
 * wipeInitialEnv overwrites the values of the named variables in that block with NUL
 * bytes through /proc/self/mem (a process may always write its own memory), so
 * /proc/<pid>/environ then shows `NAME=` and nothing after it. Linux only; where /proc
 * is missing or refuses, nothing changes and it says so (false). Call it only for
 * variables already deleted from process.env: a value still in use would change too.
 */
import * as fs from 'node:fs';

/** True when the block was read and no named variable in it still has a value. */
export function wipeInitialEnv(names: readonly string[]): boolean {
  if (process.platform !== 'linux') return false;
  let fd: number | undefined;
  try {
    // Fields 50 and 51 of /proc/<pid>/stat (proc(5)): env_start and env_end. The name in
    // field 2 may hold spaces and parentheses: count from the last ')'.
    const stat = fs.readFileSync('/proc/self/stat', 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3
    const start = Number(fields[50 - 3]);
    const end = Number(fields[51 - 3]);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start <= 0 || end <= start || end - start > 1 << 24) return false;
    fd = fs.openSync('/proc/self/mem', 'r+');
    const block = Buffer.alloc(end - start);
    if (fs.readSync(fd, block, 0, block.length, start) !== block.length) return false;
    for (const name of names) {
      const prefix = Buffer.from(`${name}=`, 'latin1');
      for (let i = block.indexOf(prefix); i >= 0; i = block.indexOf(prefix, i + 1)) {
        if (i > 0 && block[i - 1] !== 0) continue; // inside another variable's value
        const from = i + prefix.length;
        let to = block.indexOf(0, from);
        if (to < 0) to = block.length;
        if (to === from) continue;
        block.fill(0, from, to);
        if (fs.writeSync(fd, block, from, to - from, start + from) !== to - from) return false;
      }
    }
    return true;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
