/**
 * The config.yaml auth blocks of the minted types, as the minters read them.
 * (Mirrors src/auth/types.ts of the auth framework; replaced by it on merge.)
 */
export interface OAuth2Spec {
  type: 'oauth2';
  grant: 'client_credentials' | 'refresh_token';
  tokenUrl: string;
  scopes?: string[];
  audience?: string;
  clientAuth?: 'basic' | 'body';
}

export interface GitHubAppSpec {
  type: 'github-app';
  appId: string;
  installationId: string;
}

export interface GoogleServiceAccountSpec {
  type: 'google-service-account';
  scopes: string[];
  subject?: string;
}

export type MintSpec = OAuth2Spec | GitHubAppSpec | GoogleServiceAccountSpec;
