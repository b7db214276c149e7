/**
 * `janee logs verify`: checks the whole chain across the day files in date order.
 *
 * Per line (1-based line numbers; `file` is the name inside the audit dir):
 * - not JSON / not an entry → "truncated or garbage line" (the chain continues
 *   from the last good entry, as the writer does after a crash);
 * - stored hash ≠ sha256 of the line's unhashed text → the entry was edited;
 * - hash fine but the line is not in canonical form → reported too;
 * - seq ≠ previous seq + 1 → entries deleted (a jump) or reordered/duplicated
 *   (a step back); reordering two entries breaks three links, so it shows as
 *   problems on the moved lines and the line after them;
 * - seq fine but prev ≠ the previous entry's hash → an entry was replaced, or an
 *   edited entry got a recomputed hash;
 * - a file not ending in `\n` → truncated last line.
 * A chain cannot show that its *newest* entries were deleted (what remains is a
 * valid shorter chain). The writer keeps `<dir>/head` with the last seq and hash;
 * verify reports a head that is ahead of the log (or names an entry the log does
 * not have). A head behind the log is fine (crash between the two writes).
 * Also undetectable by design: deleting whole oldest files is reported (the log
 * no longer starts at seq 1), but someone able to rewrite the files can always
 * recompute every hash — the chain is unkeyed.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { listLogFiles } from './reader.js';
import { GENESIS_HASH, parseLine } from './record.js';
import { HEAD_FILE } from './writer.js';

export interface AuditProblem {
  /** File name inside the audit directory (`2026-03-15.jsonl`, or `head`). */
  file: string;
  /** 1-based line number (0 = the file as a whole). */
  line: number;
  message: string;
}

export interface VerifyResult {
  ok: boolean;
  /** Lines that parsed as entries (valid or not). */
  entries: number;
  problems: AuditProblem[];
}

const MAX_PROBLEMS = 1000;

interface Head {
  seq: number;
  hash: string;
}

async function readHead(dir: string, problems: AuditProblem[]): Promise<Head | null | 'missing'> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, HEAD_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    problems.push({ file: HEAD_FILE, line: 0, message: `cannot read (${(e as NodeJS.ErrnoException).code ?? 'EIO'})` });
    return null;
  }
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (Number.isSafeInteger(o.seq) && typeof o.hash === 'string' && /^[0-9a-f]{64}$/.test(o.hash)) {
      return { seq: o.seq as number, hash: o.hash };
    }
  } catch {
    // fall through
  }
  problems.push({ file: HEAD_FILE, line: 1, message: 'damaged: not a head record' });
  return null;
}

export async function verifyAudit(dir: string): Promise<VerifyResult> {
  const problems: AuditProblem[] = [];
  let truncatedReport = false;
  const report = (file: string, line: number, message: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push({ file, line, message });
    else truncatedReport = true;
  };

  const files = await listLogFiles(dir);
  const head = await readHead(dir, problems);
  let entries = 0;
  let last: { seq: number; hash: string } | null = null;
  let headMatched = false;

  for (const file of files) {
    let text: string;
    try {
      text = await fs.readFile(path.join(dir, file), 'utf8');
    } catch (e) {
      report(file, 0, `cannot read (${(e as NodeJS.ErrnoException).code ?? 'EIO'})`);
      continue;
    }
    if (text.length === 0) continue;
    const lines = text.split('\n');
    const unterminated = !text.endsWith('\n');
    if (!unterminated) lines.pop(); // the empty piece after the final newline
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1;
      const line = lines[i] as string;
      if (unterminated && i === lines.length - 1) {
        report(file, lineNo, 'truncated line (no newline at the end of the file)');
      }
      if (line.length === 0) {
        report(file, lineNo, 'empty line');
        continue;
      }
      const p = parseLine(line);
      if (p.kind === 'bad') {
        report(file, lineNo, `${p.message}`);
        continue;
      }
      entries++;
      const e = p.entry;
      if (!p.hashOk) report(file, lineNo, `hash mismatch: entry seq ${e.seq} was modified`);
      else if (!p.canonical) report(file, lineNo, `entry seq ${e.seq} is not in canonical form (extra fields, key order or spacing)`);
      const expected: number = last ? last.seq + 1 : 1;
      if (e.seq !== expected) {
        if (last === null) {
          report(file, lineNo, `the log starts at seq ${e.seq}, not 1: the first ${e.seq - 1} entries are missing`);
        } else if (e.seq > expected) {
          const n = e.seq - expected;
          report(file, lineNo, `seq jumps from ${last.seq} to ${e.seq}: ${n} ${n === 1 ? 'entry' : 'entries'} deleted or moved`);
        } else {
          report(file, lineNo, `seq ${e.seq} after seq ${last.seq}: entries reordered or duplicated`);
        }
      } else if (e.prev !== (last ? last.hash : GENESIS_HASH)) {
        report(
          file,
          lineNo,
          last
            ? `prev does not match the hash of seq ${last.seq}: an entry was replaced or edited and re-hashed`
            : 'the first entry does not chain from the genesis hash (64 zeros)',
        );
      }
      if (head && typeof head === 'object' && e.seq === head.seq && e.hash === head.hash) headMatched = true;
      last = { seq: e.seq, hash: e.hash };
    }
  }

  if (head === 'missing') {
    if (entries > 0) report(HEAD_FILE, 0, 'missing: cannot check that the newest entries are present');
  } else if (head !== null && !headMatched) {
    const end = last?.seq ?? 0;
    if (head.seq > end) {
      const n = head.seq - end;
      report(
        HEAD_FILE,
        1,
        `head records seq ${head.seq} but the log ends at seq ${end}: the newest ${n} ${n === 1 ? 'entry was' : 'entries were'} deleted`,
      );
    } else {
      report(HEAD_FILE, 1, `head records seq ${head.seq} with a hash no entry of the log has`);
    }
  }
  if (truncatedReport) problems.push({ file: '', line: 0, message: `more than ${MAX_PROBLEMS} problems; the rest are not listed` });
  return { ok: problems.length === 0, entries, problems };
}
