/** Argument patterns (src/exec/pattern.ts): the policy half of exec, pure. */
import { describe, expect, it } from 'vitest';
import { decideArgs, isBroadForwarder, matches, parsePattern, splitArgs, type Pattern } from '../../src/exec/pattern.js';

const p = (t: string): Pattern => {
  const r = parsePattern(t);
  if (typeof r === 'string') throw new Error(r);
  return r;
};
const decide = (allow: string[], deny: string[], args: string[]) => decideArgs(allow.map(p), deny.map(p), args);

describe('parsePattern', () => {
  it('refuses what it cannot mean', () => {
    expect(parsePattern('** **')).toMatch(/says nothing more/);
    expect(parsePattern('a*b')).toMatch(/whole argument/);
    expect(parsePattern('"open')).toMatch(/not closed/);
    expect(parsePattern('x"y"')).toMatch(/quote a whole word/);
  });
  it('reads quoted words with spaces, and a trailing * as a prefix', () => {
    expect(p('--expand-header "Authorization: Bearer {{K}}" https://api.stripe.com/v1/*').tokens).toEqual([
      { kind: 'word', text: '--expand-header' },
      { kind: 'word', text: 'Authorization: Bearer {{K}}' },
      { kind: 'prefix', text: 'https://api.stripe.com/v1/' },
    ]);
    expect(p('"*"').tokens).toEqual([{ kind: 'word', text: '*' }]);
  });
});

describe('matching', () => {
  it('* is one value (never an option) in allow, any one argument in deny', () => {
    expect(matches(p('pr view *'), ['pr', 'view', '12'], 'allow')).toBe(true);
    expect(matches(p('pr view *'), ['pr', 'view', '-Revil.example/o/r'], 'allow')).toBe(false);
    expect(matches(p('pr view *'), ['pr', 'view', '-Revil.example/o/r'], 'deny')).toBe(true);
    expect(matches(p('pr view *'), ['pr', 'view'], 'allow')).toBe(false);
    expect(matches(p('pr view *'), ['pr', 'view', '1', '2'], 'allow')).toBe(false);
  });
  it('"" is no arguments at all', () => {
    expect(matches(p(''), [], 'allow')).toBe(true);
    expect(matches(p(''), [''], 'allow')).toBe(false);
  });
  it('** is the rest, options included, zero or more', () => {
    expect(matches(p('pr list **'), ['pr', 'list'], 'allow')).toBe(true);
    expect(matches(p('pr list **'), ['pr', 'list', '--limit', '5', '-R', 'x'], 'allow')).toBe(true);
    expect(matches(p('pr list **'), ['pr'], 'allow')).toBe(false);
  });
  it('** may sit anywhere (a deny on a flag wherever it appears)', () => {
    const d = p('** --hostname **');
    expect(matches(d, ['api', '-X', 'GET', '--hostname', 'evil', '/user'], 'deny')).toBe(true);
    expect(matches(d, ['api', '/user'], 'deny')).toBe(false);
    expect(
      matches(
        p('** x'),
        Array.from({ length: 256 }, () => 'y'),
        'allow',
      ),
    ).toBe(false);
  });
  it('a prefix word pins the start of one argument', () => {
    const u = p('https://api.stripe.com/v1/*');
    expect(matches(u, ['https://api.stripe.com/v1/charges?limit=3'], 'allow')).toBe(true);
    expect(matches(u, ['https://api.stripe.com.evil.example/v1/x'], 'allow')).toBe(false);
    expect(matches(u, ['https://evil.example/https://api.stripe.com/v1/'], 'allow')).toBe(false);
  });
});

describe('decideArgs', () => {
  it('deny wins over allow', () => {
    expect(decide(['**'], ['auth **'], ['auth', 'token'])).toEqual({ allowed: false, rule: 'deny auth **' });
    expect(decide(['**'], ['auth **'], ['pr', 'list'])).toEqual({ allowed: true, rule: 'allow **' });
    expect(decide(['pr list'], [], ['pr', 'view'])).toEqual({ allowed: false, rule: undefined });
  });
  it('checks --flag=value split, so a deny on a flag is not dodged with "="', () => {
    expect(splitArgs(['--hostname=evil', '-x=1', '--', '--=a', 'a=b'])).toEqual(['--hostname', 'evil', '-x=1', '--', '--=a', 'a=b']);
    expect(decide(['api **'], ['** --hostname **'], ['api', '--hostname=evil.example', '/user']).allowed).toBe(false);
    expect(decide(['pr list --limit *'], [], ['pr', 'list', '--limit=5']).allowed).toBe(true);
    // A value smuggled after "=" is still a value the pattern must admit.
    expect(decide(['pr list --limit *'], [], ['pr', 'list', '--limit=-1']).allowed).toBe(false);
  });
  it('a deny on --long also catches its abbreviations (git parse-options, getopt_long accept them)', () => {
    const allow = ['fetch **', 'push **'];
    const deny = ['** --upload-pack **', '** --receive-pack **'];
    // redteam3 finding 5: each of these ran the agent's command through git.
    expect(decide(allow, deny, ['fetch', '--upload-pa=touch /tmp/x', '/r'])).toEqual({ allowed: false, rule: 'deny ** --upload-pack **' });
    expect(decide(allow, deny, ['push', '--receive-p', 'x', '/r'])).toEqual({ allowed: false, rule: 'deny ** --receive-pack **' });
    expect(decide(allow, deny, ['fetch', '--upl', 'x']).allowed).toBe(false);
    expect(decide(allow, deny, ['fetch', '--upload-pack', 'x']).allowed).toBe(false);
    // git takes a one-letter abbreviation when it is unique to the command (review3 F5: `push --e=/x` ran /x).
    expect(decide(allow, ['** --exec **'], ['push', '--e=/x', 'o']).allowed).toBe(false);
    expect(decide(allow, ['** --exec **'], ['push', '--ex=/x', 'o']).allowed).toBe(false);
    expect(decide(allow, deny, ['fetch', '--u=x']).allowed).toBe(false);
    // Longer, or another option, or no letter at all: not this deny.
    expect(decide(allow, deny, ['fetch', '--', 'x']).allowed).toBe(true);
    expect(decide(allow, deny, ['fetch', '--upload-packx', 'x']).allowed).toBe(true);
    expect(decide(allow, deny, ['fetch', '--upload-pass', 'x']).allowed).toBe(true);
    expect(decide(allow, deny, ['fetch', '-upload-pa', 'x']).allowed).toBe(true);
  });
  it('a deny on -X also catches -X with its value attached (pflag, getopt)', () => {
    const allow = ['pr view **'];
    const deny = ['** -R **', '** --repo **'];
    expect(decide(allow, deny, ['pr', 'view', '1', '-Revil/o'])).toEqual({ allowed: false, rule: 'deny ** -R **' });
    expect(decide(allow, deny, ['pr', 'view', '1', '-R=evil/o']).allowed).toBe(false);
    expect(decide(allow, deny, ['pr', 'view', '1', '--rep=evil/o'])).toEqual({ allowed: false, rule: 'deny ** --repo **' });
    expect(decide(allow, deny, ['pr', 'view', '1', '-r', 'x']).allowed).toBe(true);
    expect(decide(allow, deny, ['pr', 'view', '1', 'Revil/o']).allowed).toBe(true);
    expect(decide(allow, deny, ['pr', 'view', '1', '--R']).allowed).toBe(true);
  });
  it('a deny on -X also catches -X clustered behind other short options (getopt reads -vR as -v -R)', () => {
    const allow = ['pr view **'];
    const deny = ['** -R **'];
    expect(decide(allow, deny, ['pr', 'view', '1', '-vR', 'evil/o'])).toEqual({ allowed: false, rule: 'deny ** -R **' });
    expect(decide(allow, deny, ['pr', 'view', '1', '-vRevil/o']).allowed).toBe(false);
    expect(decide(allow, deny, ['pr', 'view', '1', '-wvR', 'evil/o']).allowed).toBe(false);
    // Another letter, a long option, or not an option at all: not this deny.
    expect(decide(allow, deny, ['pr', 'view', '1', '-vr', 'x']).allowed).toBe(true);
    expect(decide(allow, deny, ['pr', 'view', '1', '--vR']).allowed).toBe(true);
    expect(decide(allow, deny, ['pr', 'view', '1', 'vR']).allowed).toBe(true);
    // git: -c clustered (git itself takes no clusters, but gh, stripe and curl do).
    expect(decide(['**'], ['** -c **'], ['-pc', 'core.pager=x']).allowed).toBe(false);
  });
  it('a pattern word --name=value reads as --name value, like the arguments (rt5a)', () => {
    const deny = ['** --upload-pack=* **'];
    for (const args of [
      ['fetch', '--upload-pack=x'],
      ['fetch', '--upload-pack', 'x'],
      ['fetch', '--upload-pa=x'],
    ])
      expect(decide(['**'], deny, args)).toEqual({ allowed: false, rule: 'deny ** --upload-pack=* **' });
    expect(decide(['pr list --limit=*'], [], ['pr', 'list', '--limit', '5']).allowed).toBe(true);
    expect(decide(['pr list --limit=*'], [], ['pr', 'list', '--limit=-5']).allowed).toBe(false);
    expect(decide(['api **'], ['** --method=DELETE **'], ['api', '--method=GET', 'x']).allowed).toBe(true);
  });
  it('a deny -X VALUE also catches the value attached (-XVALUE, -X=VALUE, -sXVALUE) (rt5a)', () => {
    const deny = ['** -X DELETE **'];
    for (const a of ['-XDELETE', '-X=DELETE', '-sXDELETE']) expect(decide(['**'], deny, [a, 'u']).allowed).toBe(false);
    expect(decide(['**'], deny, ['-XGET', 'u']).allowed).toBe(true);
    expect(decide(['**'], deny, ['-X', 'GET', 'DELETE']).allowed).toBe(true);
  });
  it('allow words still match exactly', () => {
    expect(decide(['fetch --upload-pack x'], [], ['fetch', '--upload-pa', 'x']).allowed).toBe(false);
    expect(decide(['pr view -R *'], [], ['pr', 'view', '-Rx']).allowed).toBe(false);
  });
});

describe('isBroadForwarder', () => {
  it('flags ** on programs that can send their environment elsewhere, not narrow patterns', () => {
    expect(isBroadForwarder('/usr/bin/curl', [p('**')])).toBe(true);
    expect(isBroadForwarder('/usr/bin/python3.11', [p('x **')])).toBe(true);
    expect(isBroadForwarder('/usr/bin/curl', [p('https://api.stripe.com/v1/*')])).toBe(false);
    expect(isBroadForwarder('/usr/local/bin/mytool', [p('**')])).toBe(false);
  });
});
