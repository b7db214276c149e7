import { describe, expect, it } from 'vitest';
import { parseBaseUrl } from '../../src/config/url.js';

describe('parseBaseUrl', () => {
  it('normalises the base URL and gives its origin and path (no trailing slash)', () => {
    expect(parseBaseUrl('https://api.example.com')).toEqual({
      baseUrl: 'https://api.example.com',
      origin: 'https://api.example.com',
      path: '',
    });
    expect(parseBaseUrl('https://api.example.com/')).toEqual({
      baseUrl: 'https://api.example.com',
      origin: 'https://api.example.com',
      path: '',
    });
    expect(parseBaseUrl('https://API.example.com:443/v1//')).toEqual({
      baseUrl: 'https://api.example.com/v1',
      origin: 'https://api.example.com',
      path: '/v1',
    });
    expect(parseBaseUrl('http://127.0.0.1:8080/a/../b/%7Ex')).toEqual({
      baseUrl: 'http://127.0.0.1:8080/b/%7Ex',
      origin: 'http://127.0.0.1:8080',
      path: '/b/%7Ex',
    });
  });

  it('keeps a result per string, frozen, so a caller cannot change what the gate reads next', () => {
    const a = parseBaseUrl('https://kept.example.com/v2');
    expect(parseBaseUrl('https://kept.example.com/v2')).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(() => {
      (a as { origin: string }).origin = 'https://evil.example';
    }).toThrow(TypeError);
    expect(parseBaseUrl('https://kept.example.com/v2').origin).toBe('https://kept.example.com');
  });

  it('refuses every time what it refuses (errors are not kept)', () => {
    for (const raw of ['http://api.example.com', 'https://u:p@api.example.com', 'https://api.example.com/?q=1', 'ftp://x', 'not a url']) {
      expect(() => parseBaseUrl(raw)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
      expect(() => parseBaseUrl(raw)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
  });
});
