/** Real accounts for the ledger tests: POST /auth/register, /auth/login, GET /me. */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { TestApp } from '../../support/app';

export interface LedgerAccount {
  userId: string;
  email: string;
  tenantId: string;
  headers: Record<string, string>;
  /** The login's session API key (30 days): for tests that move the app's Clock by hours. */
  apiKeyHeaders: Record<string, string>;
}

export async function signUp(t: TestApp, label: string): Promise<LedgerAccount> {
  const email = `${label}-${randomUUID().slice(0, 8)}@example.com`;
  const password = 'correct-horse-7-battery';
  const reg = await t.inject({
    method: 'POST',
    url: '/auth/register',
    payload: { email, password, name: `Ledger ${label}` },
  });
  expect(reg.statusCode, reg.body).toBe(201);
  const login = await t.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { email, password },
  });
  expect(login.statusCode, login.body).toBe(200);
  const headers = {
    authorization: `Bearer ${login.json<{ access_token: string }>().access_token}`,
  };
  const me = await t.inject({ method: 'GET', url: '/me', headers });
  expect(me.statusCode, me.body).toBe(200);
  const body = me.json<{ tenant: { id: string } }>();
  return {
    userId: reg.json<{ user_id: string }>().user_id,
    email,
    tenantId: body.tenant.id,
    headers,
    apiKeyHeaders: { 'x-api-key': login.json<{ api_key: string }>().api_key },
  };
}
