import { describe, expect, it } from 'vitest';
import { passphraseWeaknesses } from '../../src/cli/strength.js';

describe('passphraseWeaknesses', () => {
  it.each([
    ['hunter2', ['shorter than 12 characters']],
    ['123456789012', ['only digits', 'a keyboard or alphabet sequence']],
    ['aaaaaaaaaaaaaaaa', ['mostly one repeated character']],
    ['Password123!', ['contains a common password']],
    [
      'qwertyuiop',
      ['shorter than 12 characters', 'a single word of letters', 'contains a common password', 'a keyboard or alphabet sequence'],
    ],
    ['Elephants', ['shorter than 12 characters', 'a single word of letters']],
  ])('%s is weak', (p, expected) => {
    expect(passphraseWeaknesses(p)).toEqual(expected);
  });

  it.each(['correct horse battery staple', 'tangled-orbit-51-velvet', 'mJ8#vQ2!zLp9&wR4'])('%s passes', (p) => {
    expect(passphraseWeaknesses(p)).toEqual([]);
  });

  it('never repeats the passphrase', () => {
    for (const w of passphraseWeaknesses('letmein')) expect(w).not.toContain('letmein');
  });
});

describe('janee init warns about a weak passphrase, and goes on', () => {
  it('weak: a warning naming the reasons, never the passphrase; strong: no warning', async () => {
    const { runJanee, tempHome, FAST } = await import('../helpers/cli.js');
    const weak = await runJanee(['init', ...FAST], { env: { ...(await tempHome()), JANEE_PASSPHRASE: 'letmein1' } });
    expect(weak.code).toBe(0);
    expect(weak.stderr).toMatch(/janee: warning: this passphrase is weak \(shorter than 12 characters; contains a common password\)/);
    expect(weak.stderr + weak.stdout).not.toContain('letmein1');
    const strong = await runJanee(['init', ...FAST], { env: await tempHome() });
    expect(strong.code).toBe(0);
    expect(strong.stderr).not.toContain('passphrase is weak');
  });
});

describe('janee passwd warns about a weak new passphrase and says rekey is the answer to a leak', () => {
  it('weak new passphrase: warning, still changed; help points to rekey', async () => {
    const { runJanee, initHome } = await import('../helpers/cli.js');
    const env = await initHome();
    const r = await runJanee(['passwd'], { env: { ...env, JANEE_NEW_PASSPHRASE: '1234567890' } });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /janee: warning: this passphrase is weak \(shorter than 12 characters; only digits; a keyboard or alphabet sequence\)/,
    );
    expect((await runJanee(['list'], { env: { ...env, JANEE_PASSPHRASE: '1234567890' } })).code).toBe(0);
    const help = await runJanee(['passwd', '--help'], { env });
    expect(help.stdout.replace(/\s+/g, ' ')).toContain('After a suspected leak of the passphrase, run `janee rekey` as well');
  });
});
