import { describe, expect, it } from 'vitest';
import { passphraseWeaknesses } from '../../src/cli/strength.js';

describe('passphraseWeaknesses', () => {
  it.each([
    ['hunter2', ['shorter than 12 characters']],
    ['123456789012', ['only digits', 'a keyboard or alphabet sequence']],
    ['aaaaaaaaaaaaaaaa', ['mostly one repeated character']],
    ['Password123!', ['contains a common password']],
    ['qwertyuiop', ['shorter than 12 characters', 'a single word of letters', 'contains a common password', 'a keyboard or alphabet sequence']],
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
