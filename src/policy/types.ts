/**
 * The policy rule as config.yaml's loader produces it and the evaluator reads
 * it. It lives here, not in src/config, because imports point downward
 * (config → policy): config/types.ts re-exports it.
 */
export interface PolicyRule {
  /** Normalised path pattern, starts with `/`; `*` = one segment, `**` = any rest. */
  path: string;
  /** Upper-case method names, or `*`. */
  methods: string[];
  deny: boolean;
  /** Allow rules only: a matching call waits for a human (`janee approve`), see src/approval. */
  approve?: boolean;
}
