/**
 * The pieces of `--json` output that several commands share (docs/json.md).
 * Names, URLs, origins and rules only: nothing here may carry a secret value,
 * and auth says where the secret goes (header or parameter NAME), never what it is.
 */
import type { ServiceConfig } from '../config/types.js';

/** A service as config.yaml now has it. policies null: no rules (any request); [] : no request. */
export function serviceJson(s: ServiceConfig) {
  return {
    service: s.name,
    baseUrl: s.baseUrl,
    auth: s.auth,
    policies: s.policies ?? null,
    rateLimit: s.rateLimit?.text ?? null,
    testPath: s.testPath ?? null,
  };
}
