export {
  ALLOWED_METHODS,
  MAX_TARGET_LENGTH,
  buildUpstreamUrl,
  normalizeMethod,
  normalizePolicyPattern,
  normalizeRequestTarget,
  parsePolicyPattern,
  parseRequestPath,
  type ParsedPath,
  type ParsedPattern,
  type PatternSegment,
  type RequestTarget,
} from './normalize.js';
export {
  denyCovers,
  denyFold,
  describeAllowed,
  describeBlocked,
  describeRule,
  evaluatePolicies,
  matchesPattern,
  type Decision,
} from './evaluate.js';
export { isFieldValue, isToken } from './chars.js';
export { hexVal } from './segment.js';
export type { PolicyRule } from './types.js';
