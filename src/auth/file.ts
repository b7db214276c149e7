/** File fields (a PEM private key, a JSON key): the shape check shared by `janee add` and `janee migrate`. */

/** A quick shape check (the minting code checks the key itself); never quotes the content. */
export function fileProblem(kind: 'pem' | 'json', bytes: Uint8Array): string | undefined {
  const text = Buffer.from(bytes).toString('utf8');
  if (kind === 'pem') {
    return /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----[\s\S]+-----END ([A-Z]+ )?PRIVATE KEY-----/.test(text)
      ? undefined
      : 'the file is not a PEM private key (-----BEGIN … PRIVATE KEY-----)';
  }
  try {
    const j: unknown = JSON.parse(text);
    return j !== null && typeof j === 'object' && !Array.isArray(j) ? undefined : 'the file is not a JSON object';
  } catch {
    return 'the file is not valid JSON';
  }
}
