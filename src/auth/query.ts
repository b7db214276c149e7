/**
 * Query strings in the form the gate sends them (the policy normaliser's canonical
 * form: encodeURIComponent, plus `'` as %27), shared by the gate and the signers so
 * a signer signs exactly the query that is sent.
 */

export function encodeQueryComponent(s: string): string {
  return encodeURIComponent(s).replace(/'/g, '%27');
}

/** `query` with `pairs` appended in order. */
export function appendQuery(query: string, pairs: readonly (readonly [string, string])[]): string {
  let q = query;
  for (const [k, v] of pairs) q = `${q ? `${q}&` : ''}${encodeQueryComponent(k)}=${encodeQueryComponent(v)}`;
  return q;
}

/** Decoded names of the parameters in `query` (`+` is a space). */
export function queryNames(query: string): string[] {
  if (query === '') return [];
  return query.split('&').map((kv) => safeDecode(kv.split('=')[0] ?? ''));
}

/** Decoded name/value pairs of an application/x-www-form-urlencoded string. */
export function formPairs(text: string): [string, string][] {
  if (text === '') return [];
  return text
    .split('&')
    .filter((kv) => kv !== '')
    .map((kv) => {
      const eq = kv.indexOf('=');
      return [safeDecode(eq < 0 ? kv : kv.slice(0, eq)), safeDecode(eq < 0 ? '' : kv.slice(eq + 1))];
    });
}

export function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}
