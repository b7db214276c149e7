import { describe, expect, it } from 'vitest';
import { secret } from '../../src/util/secret.js';

describe('SecretBytes', () => {
  it('wipes its bytes when the scope ends, also by a throw', () => {
    const a = new Uint8Array([1, 2, 3]);
    {
      using s = secret(a);
      expect(s.bytes).toBe(a);
    }
    expect([...a]).toEqual([0, 0, 0]);
    const b = new Uint8Array([4, 5]);
    expect(() => {
      using s = secret(b);
      void s;
      throw new Error('boom');
    }).toThrow('boom');
    expect([...b]).toEqual([0, 0]);
  });

  it('take() hands the bytes over: the scope no longer wipes them, and they cannot be used through it again', () => {
    const a = new Uint8Array([7, 8]);
    let taken: Uint8Array;
    {
      using s = secret(a);
      taken = s.take();
      expect(() => s.bytes).toThrow('handed over');
    }
    expect(taken).toBe(a);
    expect([...a]).toEqual([7, 8]);
  });
});
