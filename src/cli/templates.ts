/**
 * The built-in catalogue of common APIs for `janee add NAME` and `janee
 * templates` (pure data and search; no I/O).
 *
 * Each template states the API's real auth shape in config.yaml's terms, a
 * read-only starting policy (GET rules on a few real read endpoints), and a
 * cheap authenticated GET for `janee test` (testPath). Account identifiers
 * (Twilio's SID) stay out of paths: `*` stands for them, so config.yaml names no
 * account and a key still reaches only its own. APIs whose auth needs two headers or a fixed prefix
 * before the key (Datadog, Trello, Discord `Bot …`) are left out until config
 * has a way to say so.
 */
import type { AuthSpec } from '../config/types.js';

interface TemplateRule {
  methods: string[];
  path: string;
}

export interface Template {
  name: string;
  title: string;
  tags: string[];
  /** For per-account APIs an example (see baseUrlRequired). */
  baseUrl: string;
  /** The base URL differs per account (Jira site, Shopify shop): --base-url is required. */
  baseUrlRequired?: boolean;
  auth: AuthSpec;
  /** basic auth: a fixed user name (Mailgun's `api`)… */
  username?: string;
  /** …or what the user name is, asked for or taken from --username. */
  usernameLabel?: string;
  /** What to paste as the secret. */
  secretLabel: string;
  policies: TemplateRule[];
  testPath?: string;
  docs: string;
  note?: string;
}

const GET = ['GET'];
const r = (path: string, methods: string[] = GET): TemplateRule => ({ methods, path });

export const TEMPLATES: readonly Template[] = [
  {
    name: 'airtable',
    title: 'Airtable',
    tags: ['database', 'spreadsheet', 'no-code'],
    baseUrl: 'https://api.airtable.com',
    auth: { type: 'bearer' },
    secretLabel: 'personal access token (pat…)',
    policies: [r('/v0')],
    testPath: '/v0/meta/whoami',
    docs: 'https://airtable.com/developers/web/api/introduction',
  },
  {
    name: 'anthropic',
    title: 'Anthropic (Claude)',
    tags: ['ai', 'llm', 'claude'],
    baseUrl: 'https://api.anthropic.com',
    auth: { type: 'header', name: 'x-api-key' },
    secretLabel: 'API key (sk-ant-…)',
    policies: [r('/v1/models')],
    testPath: '/v1/models',
    docs: 'https://docs.anthropic.com/en/api/overview',
    note: 'every request needs an anthropic-version header (e.g. 2023-06-01); messages are POST /v1/messages: add --policy "POST /v1/messages" to allow them',
  },
  {
    name: 'asana',
    title: 'Asana',
    tags: ['tasks', 'project-management'],
    baseUrl: 'https://app.asana.com/api/1.0',
    auth: { type: 'bearer' },
    secretLabel: 'personal access token',
    policies: [r('/users/me'), r('/workspaces'), r('/projects'), r('/tasks')],
    testPath: '/users/me',
    docs: 'https://developers.asana.com/docs/overview',
  },
  {
    name: 'cloudflare',
    title: 'Cloudflare',
    tags: ['dns', 'cdn', 'workers'],
    baseUrl: 'https://api.cloudflare.com/client/v4',
    auth: { type: 'bearer' },
    secretLabel: 'API token (not the global API key)',
    policies: [r('/user/tokens/verify'), r('/zones'), r('/accounts')],
    testPath: '/user/tokens/verify',
    docs: 'https://developers.cloudflare.com/api/',
  },
  {
    name: 'digitalocean',
    title: 'DigitalOcean',
    tags: ['cloud', 'hosting', 'droplets'],
    baseUrl: 'https://api.digitalocean.com',
    auth: { type: 'bearer' },
    secretLabel: 'personal access token (dop_v1_…)',
    policies: [r('/v2')],
    testPath: '/v2/account',
    docs: 'https://docs.digitalocean.com/reference/api/',
  },
  {
    name: 'elevenlabs',
    title: 'ElevenLabs',
    tags: ['ai', 'speech', 'tts', 'voice'],
    baseUrl: 'https://api.elevenlabs.io',
    auth: { type: 'header', name: 'xi-api-key' },
    secretLabel: 'API key',
    policies: [r('/v1/user'), r('/v1/voices'), r('/v1/models')],
    testPath: '/v1/user',
    docs: 'https://elevenlabs.io/docs/api-reference/introduction',
    note: 'speech generation is POST /v1/text-to-speech/*: add it with --policy',
  },
  {
    name: 'figma',
    title: 'Figma',
    tags: ['design'],
    baseUrl: 'https://api.figma.com',
    auth: { type: 'header', name: 'X-Figma-Token' },
    secretLabel: 'personal access token (figd_…)',
    policies: [r('/v1/me'), r('/v1/files'), r('/v1/images')],
    testPath: '/v1/me',
    docs: 'https://www.figma.com/developers/api',
  },
  {
    name: 'gemini',
    title: 'Google Gemini API',
    tags: ['ai', 'llm', 'google'],
    baseUrl: 'https://generativelanguage.googleapis.com',
    auth: { type: 'header', name: 'x-goog-api-key' },
    secretLabel: 'API key (AIza…)',
    policies: [r('/v1beta/models')],
    testPath: '/v1beta/models',
    docs: 'https://ai.google.dev/api',
    note: 'generation is POST /v1beta/models/*:generateContent: add it with --policy',
  },
  {
    name: 'github',
    title: 'GitHub',
    tags: ['git', 'code', 'vcs', 'issues'],
    baseUrl: 'https://api.github.com',
    auth: { type: 'bearer' },
    secretLabel: 'token (github_pat_… or ghp_…)',
    policies: [r('/user'), r('/repos'), r('/orgs/*/repos'), r('/search')],
    testPath: '/user',
    docs: 'https://docs.github.com/en/rest',
    note: 'GitHub Enterprise Server: add --template github --base-url https://HOST/api/v3',
  },
  {
    name: 'gitlab',
    title: 'GitLab',
    tags: ['git', 'code', 'vcs', 'ci'],
    baseUrl: 'https://gitlab.com/api/v4',
    auth: { type: 'header', name: 'PRIVATE-TOKEN' },
    secretLabel: 'personal access token (glpat-…)',
    policies: [r('/user'), r('/projects'), r('/groups')],
    testPath: '/user',
    docs: 'https://docs.gitlab.com/ee/api/rest/',
    note: 'self-managed GitLab: add --template gitlab --base-url https://HOST/api/v4',
  },
  {
    name: 'groq',
    title: 'Groq',
    tags: ['ai', 'llm', 'openai-compatible'],
    baseUrl: 'https://api.groq.com/openai',
    auth: { type: 'bearer' },
    secretLabel: 'API key (gsk_…)',
    policies: [r('/v1/models')],
    testPath: '/v1/models',
    docs: 'https://console.groq.com/docs/api-reference',
    note: 'chat is POST /v1/chat/completions: add it with --policy',
  },
  {
    name: 'hubspot',
    title: 'HubSpot',
    tags: ['crm', 'marketing'],
    baseUrl: 'https://api.hubapi.com',
    auth: { type: 'bearer' },
    secretLabel: 'private app access token (pat-…)',
    policies: [r('/account-info/v3/details'), r('/crm/v3/objects'), r('/crm/v3/owners')],
    testPath: '/account-info/v3/details',
    docs: 'https://developers.hubspot.com/docs/api/overview',
    note: 'CRM search is POST /crm/v3/objects/*/search: add it with --policy',
  },
  {
    name: 'huggingface',
    title: 'Hugging Face Hub',
    tags: ['ai', 'models', 'datasets'],
    baseUrl: 'https://huggingface.co/api',
    auth: { type: 'bearer' },
    secretLabel: 'access token (hf_…)',
    policies: [r('/whoami-v2'), r('/models'), r('/datasets'), r('/spaces')],
    testPath: '/whoami-v2',
    docs: 'https://huggingface.co/docs/hub/api',
  },
  {
    name: 'intercom',
    title: 'Intercom',
    tags: ['support', 'crm', 'messaging'],
    baseUrl: 'https://api.intercom.io',
    auth: { type: 'bearer' },
    secretLabel: 'access token',
    policies: [r('/me'), r('/contacts'), r('/conversations'), r('/admins')],
    testPath: '/me',
    docs: 'https://developers.intercom.com/docs/references/rest-api/api.intercom.io',
    note: 'EU and AU workspaces: add --template intercom --base-url https://api.eu.intercom.io (or https://api.au.intercom.io)',
  },
  {
    name: 'jira',
    title: 'Jira Cloud',
    tags: ['atlassian', 'issues', 'project-management'],
    baseUrl: 'https://YOUR-SITE.atlassian.net',
    baseUrlRequired: true,
    auth: { type: 'basic' },
    usernameLabel: 'Atlassian account email',
    secretLabel: 'API token',
    policies: [r('/rest/api/3/myself'), r('/rest/api/3/issue'), r('/rest/api/3/project'), r('/rest/api/3/search')],
    testPath: '/rest/api/3/myself',
    docs: 'https://developer.atlassian.com/cloud/jira/platform/rest/v3/intro/',
  },
  {
    name: 'linear',
    title: 'Linear',
    tags: ['issues', 'project-management', 'graphql'],
    baseUrl: 'https://api.linear.app',
    auth: { type: 'header', name: 'Authorization' },
    secretLabel: 'personal API key (lin_api_…, sent as is)',
    policies: [r('/graphql', ['POST'])],
    docs: 'https://linear.app/developers/graphql',
    note: 'GraphQL: reads and writes are both POST /graphql, so a read-only policy cannot be expressed; this template allows POST /graphql (queries AND mutations). Create the key with only the Read permission to keep it read-only. No test path: the API has no cheap GET.',
  },
  {
    name: 'mailgun',
    title: 'Mailgun',
    tags: ['email'],
    baseUrl: 'https://api.mailgun.net',
    auth: { type: 'basic' },
    username: 'api',
    secretLabel: 'API key',
    policies: [r('/v3/domains'), r('/v3/*/events'), r('/v3/*/stats')],
    testPath: '/v3/domains',
    docs: 'https://documentation.mailgun.com/docs/mailgun/api-reference/',
    note: 'EU region: add --template mailgun --base-url https://api.eu.mailgun.net; sending is POST /v3/*/messages: add it with --policy',
  },
  {
    name: 'mapbox',
    title: 'Mapbox',
    tags: ['maps', 'geocoding'],
    baseUrl: 'https://api.mapbox.com',
    auth: { type: 'query', param: 'access_token' },
    secretLabel: 'access token (pk.… or sk.…)',
    policies: [r('/tokens/v2'), r('/geocoding'), r('/search'), r('/directions')],
    testPath: '/tokens/v2',
    docs: 'https://docs.mapbox.com/api/overview/',
  },
  {
    name: 'mistral',
    title: 'Mistral AI',
    tags: ['ai', 'llm'],
    baseUrl: 'https://api.mistral.ai',
    auth: { type: 'bearer' },
    secretLabel: 'API key',
    policies: [r('/v1/models')],
    testPath: '/v1/models',
    docs: 'https://docs.mistral.ai/api/',
    note: 'chat is POST /v1/chat/completions: add it with --policy',
  },
  {
    name: 'netlify',
    title: 'Netlify',
    tags: ['hosting', 'deploy'],
    baseUrl: 'https://api.netlify.com/api/v1',
    auth: { type: 'bearer' },
    secretLabel: 'personal access token',
    policies: [r('/user'), r('/sites'), r('/accounts')],
    testPath: '/user',
    docs: 'https://docs.netlify.com/api/get-started/',
  },
  {
    name: 'notion',
    title: 'Notion',
    tags: ['docs', 'wiki', 'database'],
    baseUrl: 'https://api.notion.com',
    auth: { type: 'bearer' },
    secretLabel: 'integration secret (ntn_… or secret_…)',
    policies: [r('/v1/users'), r('/v1/pages'), r('/v1/blocks'), r('/v1/databases')],
    testPath: '/v1/users/me',
    docs: 'https://developers.notion.com/reference/intro',
    note: 'every request needs a Notion-Version header (e.g. 2022-06-28); search and database queries are POST (/v1/search, /v1/databases/*/query): add them with --policy',
  },
  {
    name: 'openai',
    title: 'OpenAI',
    tags: ['ai', 'llm', 'gpt'],
    baseUrl: 'https://api.openai.com',
    auth: { type: 'bearer' },
    secretLabel: 'API key (sk-…)',
    policies: [r('/v1/models')],
    testPath: '/v1/models',
    docs: 'https://platform.openai.com/docs/api-reference',
    note: 'inference is POST (/v1/responses, /v1/chat/completions): add it with --policy',
  },
  {
    name: 'postmark',
    title: 'Postmark',
    tags: ['email'],
    baseUrl: 'https://api.postmarkapp.com',
    auth: { type: 'header', name: 'X-Postmark-Server-Token' },
    secretLabel: 'server API token',
    policies: [r('/server'), r('/messages'), r('/stats'), r('/templates')],
    testPath: '/server',
    docs: 'https://postmarkapp.com/developer',
    note: 'sending is POST /email: add it with --policy',
  },
  {
    name: 'replicate',
    title: 'Replicate',
    tags: ['ai', 'models'],
    baseUrl: 'https://api.replicate.com',
    auth: { type: 'bearer' },
    secretLabel: 'API token (r8_…)',
    policies: [r('/v1/account'), r('/v1/models'), r('/v1/predictions')],
    testPath: '/v1/account',
    docs: 'https://replicate.com/docs/reference/http',
  },
  {
    name: 'sendgrid',
    title: 'SendGrid',
    tags: ['email', 'twilio'],
    baseUrl: 'https://api.sendgrid.com',
    auth: { type: 'bearer' },
    secretLabel: 'API key (SG.…)',
    policies: [r('/v3/scopes'), r('/v3/stats'), r('/v3/templates'), r('/v3/user')],
    testPath: '/v3/scopes',
    docs: 'https://www.twilio.com/docs/sendgrid/api-reference',
    note: 'sending is POST /v3/mail/send: add it with --policy',
  },
  {
    name: 'sentry',
    title: 'Sentry',
    tags: ['errors', 'monitoring'],
    baseUrl: 'https://sentry.io/api/0',
    auth: { type: 'bearer' },
    secretLabel: 'auth token (sntrys_… or sntryu_…)',
    policies: [r('/organizations'), r('/projects'), r('/issues')],
    testPath: '/organizations/',
    docs: 'https://docs.sentry.io/api/',
    note: 'EU region: add --template sentry --base-url https://de.sentry.io/api/0 (self-hosted: https://HOST/api/0)',
  },
  {
    name: 'shopify',
    title: 'Shopify Admin',
    tags: ['ecommerce', 'shop'],
    baseUrl: 'https://YOUR-SHOP.myshopify.com/admin/api/2025-01',
    baseUrlRequired: true,
    auth: { type: 'header', name: 'X-Shopify-Access-Token' },
    secretLabel: 'Admin API access token (shpat_…)',
    policies: [r('/shop.json'), r('/products'), r('/products.json'), r('/orders'), r('/orders.json')],
    testPath: '/shop.json',
    docs: 'https://shopify.dev/docs/api/admin-rest',
  },
  {
    name: 'slack',
    title: 'Slack Web API',
    tags: ['chat', 'messaging'],
    baseUrl: 'https://slack.com/api',
    auth: { type: 'bearer' },
    secretLabel: 'bot or user token (xoxb-… or xoxp-…)',
    policies: [
      r('/auth.test'),
      r('/conversations.list'),
      r('/conversations.history'),
      r('/conversations.info'),
      r('/users.list'),
      r('/users.info'),
    ],
    testPath: '/auth.test',
    docs: 'https://api.slack.com/web',
    note: 'Slack methods are named, not REST: reads and writes differ by method name, so the policy lists read methods; posting is POST /chat.postMessage: add it with --policy',
  },
  {
    name: 'stripe',
    title: 'Stripe',
    tags: ['payments', 'billing'],
    baseUrl: 'https://api.stripe.com',
    auth: { type: 'bearer' },
    secretLabel: 'secret or restricted key (sk_… or rk_…)',
    policies: [r('/v1/balance'), r('/v1/charges'), r('/v1/customers'), r('/v1/invoices'), r('/v1/payment_intents'), r('/v1/subscriptions')],
    testPath: '/v1/balance',
    docs: 'https://docs.stripe.com/api',
    note: 'a restricted key (rk_…) with read-only permissions is safer than the secret key',
  },
  {
    name: 'twilio',
    title: 'Twilio',
    tags: ['sms', 'voice', 'messaging'],
    baseUrl: 'https://api.twilio.com',
    auth: { type: 'basic' },
    usernameLabel: 'Account SID (AC…)',
    secretLabel: 'auth token',
    policies: [
      r('/2010-04-01/Accounts.json'),
      r('/2010-04-01/Accounts/*/Messages.json'),
      r('/2010-04-01/Accounts/*/Messages/*'),
      r('/2010-04-01/Accounts/*/Calls.json'),
      r('/2010-04-01/Accounts/*/Calls/*'),
    ],
    testPath: '/2010-04-01/Accounts.json',
    docs: 'https://www.twilio.com/docs/usage/api',
    note: 'sending an SMS is POST /2010-04-01/Accounts/<SID>/Messages.json: add it with --policy',
  },
  {
    name: 'vercel',
    title: 'Vercel',
    tags: ['hosting', 'deploy'],
    baseUrl: 'https://api.vercel.com',
    auth: { type: 'bearer' },
    secretLabel: 'access token',
    policies: [r('/v2/user'), r('/*/projects'), r('/*/deployments'), r('/*/domains')],
    testPath: '/v2/user',
    docs: 'https://vercel.com/docs/rest-api',
    note: 'team resources take ?teamId=… in the query',
  },
  {
    name: 'zendesk',
    title: 'Zendesk Support',
    tags: ['support', 'tickets'],
    baseUrl: 'https://YOUR-SUBDOMAIN.zendesk.com/api/v2',
    baseUrlRequired: true,
    auth: { type: 'basic' },
    usernameLabel: 'agent email followed by /token (you@example.com/token)',
    secretLabel: 'API token',
    policies: [r('/users/me.json'), r('/tickets'), r('/tickets.json'), r('/users'), r('/search.json')],
    testPath: '/users/me.json',
    docs: 'https://developer.zendesk.com/api-reference/',
  },
];

export function findTemplate(name: string): Template | undefined {
  const n = name.toLowerCase();
  return TEMPLATES.find((t) => t.name === n);
}

/**
 * Templates matching `query`, best first: exact name, name prefix, substring of
 * name/title/tags; only when none of those match, close misspellings of the
 * name (so `github` does not also list gitlab). Empty query: all.
 */
export function searchTemplates(query: string | undefined): Template[] {
  const q = (query ?? '').trim().toLowerCase();
  if (q === '') return [...TEMPLATES];
  const score = (t: Template): number => {
    if (t.name === q) return 0;
    if (t.name.startsWith(q)) return 1;
    if (t.name.includes(q) || t.title.toLowerCase().includes(q)) return 2;
    if (t.tags.some((tag) => tag.includes(q))) return 3;
    return -1;
  };
  const found = TEMPLATES.map((t) => ({ t, s: score(t) }))
    .filter((x) => x.s >= 0)
    .sort((a, b) => a.s - b.s || a.t.name.localeCompare(b.t.name))
    .map((x) => x.t);
  if (found.length > 0 || q.length < 3) return found;
  return TEMPLATES.filter((t) => distance(q, t.name) <= Math.max(1, Math.floor(q.length / 3)));
}

/** Up to three template names close to `word` (for "did you mean"). */
export function similarTemplateNames(word: string): string[] {
  const w = word.toLowerCase();
  return TEMPLATES.map((t) => ({ n: t.name, d: t.name.startsWith(w) || w.startsWith(t.name) ? 0 : distance(w, t.name) }))
    .filter((x) => x.d <= Math.max(2, Math.floor(w.length / 3)))
    .sort((a, b) => a.d - b.d || a.n.localeCompare(b.n))
    .slice(0, 3)
    .map((x) => x.n);
}

/** Levenshtein distance (names are short: the quadratic table is fine). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

/** The JSON shape of `janee templates --json`. */
export function templateJson(t: Template) {
  return {
    name: t.name,
    title: t.title,
    tags: t.tags,
    baseUrl: t.baseUrl,
    baseUrlRequired: t.baseUrlRequired === true,
    auth: {
      ...t.auth,
      ...(t.username !== undefined ? { username: t.username } : {}),
      ...(t.usernameLabel !== undefined ? { usernameLabel: t.usernameLabel } : {}),
    },
    secret: t.secretLabel,
    policies: t.policies.map((p) => ({ path: p.path, methods: [...p.methods] })),
    testPath: t.testPath ?? null,
    docs: t.docs,
    note: t.note ?? null,
  };
}

/** docs/templates.md, generated from the catalogue (a test keeps the file in step). */
export function templatesMarkdown(): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const auth = (t: Template) => {
    const a = t.auth;
    if (a.type === 'header') return `header \`${a.name}\``;
    if (a.type === 'query') return `query \`${a.param}\``;
    if (a.type === 'basic')
      return t.username !== undefined ? `basic, user \`${t.username}\`` : `basic, --username = ${t.usernameLabel ?? 'user name'}`;
    return a.type;
  };
  const rows = TEMPLATES.map((t) =>
    [
      `\`${t.name}\``,
      `[${t.title}](${t.docs})`,
      auth(t),
      t.baseUrlRequired ? `yours, e.g. \`${t.baseUrl}\`` : `\`${t.baseUrl}\``,
      t.policies.map((p) => `\`${p.methods.join(',')} ${p.path}\``).join('<br>'),
      t.testPath ? `\`${t.testPath}\`` : '—',
      t.note ?? '',
    ]
      .map(cell)
      .join(' | '),
  );
  return `# API templates

<!-- Generated from src/cli/templates.ts: node -e "import('./dist/cli/templates.js').then((m) => process.stdout.write(m.templatesMarkdown()))" > docs/templates.md -->

\`janee add NAME\` with a name from this list and no \`--base-url\` fills in the base URL, the
auth type, a read-only starting policy and a test path (for \`janee test\`). Any flag you give
overrides the template's value: \`--policy\`/\`--deny\` replace its rules, \`--auth\`,
\`--header\`, \`--param\`, \`--username\`, \`--test-path\` and \`--base-url\` their fields.
\`--template NAME\` uses a template under another service name or with your own
\`--base-url\` (GitHub Enterprise, a self-managed GitLab, an EU region):

\`\`\`sh
janee add github                                   # key asked for without echo
janee add twilio --username AC0123…                # basic auth: the Account SID is the user name
janee add ghe --template github --base-url https://ghe.example.com/api/v3
janee templates email                              # search names, titles and tags
janee templates --json                             # the whole catalogue, for scripts
\`\`\`

\`janee add NAME --base-url URL\` without \`--template\` never applies a template, so commands
written before templates existed keep their meaning. \`janee add\` with no arguments, in a
terminal, asks step by step.

The starting policies allow \`GET\` only, on a few read endpoints (a rule covers its path and
everything below it). Writes are for you to add with \`--policy\`. Linear is the exception: its
GraphQL API carries reads and writes on the same \`POST /graphql\`, so no read-only policy can be
written; use a key with only the Read permission.

Not included, because their auth cannot yet be said in config.yaml: Datadog (two headers,
\`DD-API-KEY\` and \`DD-APPLICATION-KEY\`), Trello (two query parameters), Discord and
PagerDuty (a fixed prefix before the key in \`Authorization\`: \`Bot …\`, \`Token token=…\`).
They can still be added by hand if you store the whole header value as the secret
(\`--auth header --header Authorization\`, secret \`Token token=…\`).

| Name | API | Auth | Base URL | Read-only starting policy | Test path | Note |
| --- | --- | --- | --- | --- | --- | --- |
${rows.map((r) => `| ${r} |`).join('\n')}
`;
}
