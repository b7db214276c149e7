/** The part of the `aws4` package (no types of its own) that test/auth uses as an independent SigV4 signer. */
declare module 'aws4' {
  interface Request {
    service: string;
    region: string;
    method: string;
    host: string;
    path: string;
    headers: Record<string, string>;
    body?: Buffer | string | undefined;
    doNotModifyHeaders?: boolean;
  }
  export class RequestSigner {
    constructor(request: Request, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string });
    datetime: string;
    sign(): { headers: Record<string, string> };
  }
  const aws4: { RequestSigner: typeof RequestSigner };
  export default aws4;
}
