/** Helpers of the identity e2e tests: accounts, sign-in, event counts, the mail outbox. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { expect } from 'vitest';
import type { TestApp } from '../support/app';

export const PASSWORD = 'correct-horse-7-battery';

export interface Account {
  userId: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  apiKey: string;
  tenantId: string;
}

let counter = 0;
export function uniqueEmail(label = 'user'): string {
  counter += 1;
  return `${label}-${process.pid}-${Date.now()}-${counter}@example.com`;
}

export async function register(t: TestApp, email: string, name = 'Test User'): Promise<string> {
  const res = await t.http().post('/auth/register').send({ email, password: PASSWORD, name });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.user_id as string;
}

export async function login(t: TestApp, email: string, password = PASSWORD) {
  return t.http().post('/auth/login').send({ email, password });
}

/** Registers and signs in; the account's tenant is its personal tenant. */
export async function signUp(t: TestApp, label = 'user'): Promise<Account> {
  const email = uniqueEmail(label);
  const userId = await register(t, email);
  const res = await login(t, email);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const me = await t.http().get('/me').set('authorization', `Bearer ${res.body.access_token}`);
  expect(me.status, JSON.stringify(me.body)).toBe(200);
  return {
    userId,
    email,
    password: PASSWORD,
    accessToken: res.body.access_token,
    refreshToken: res.body.refresh_token,
    apiKey: res.body.api_key,
    tenantId: me.body.tenant.id,
  };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** Events in the log, optionally ignoring some types (AccessDenied). */
export async function countEvents(t: TestApp, ignoreTypes: string[] = []): Promise<number> {
  const client = new Client({ connectionString: t.database.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(
      'SELECT count(*)::text AS n FROM events WHERE NOT (event_type = ANY($1::text[]))',
      [ignoreTypes],
    );
    return Number(rows[0].n);
  } finally {
    await client.end();
  }
}

export async function eventsOfType(
  t: TestApp,
  type: string,
): Promise<Array<{ stream_id: string; data: Record<string, unknown> }>> {
  const client = new Client({ connectionString: t.database.url });
  await client.connect();
  try {
    const { rows } = await client.query(
      'SELECT * FROM events WHERE event_type = $1 ORDER BY global_position',
      [type],
    );
    return rows as Array<{ stream_id: string; data: Record<string, unknown> }>;
  } finally {
    await client.end();
  }
}

/** The reset token of the newest .eml file sent to `email`. */
export function resetTokenFromOutbox(t: TestApp, email: string): string {
  const dir = join(t.config.dataDir, 'mail');
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort();
  for (const file of files.reverse()) {
    const text = readFileSync(join(dir, file), 'utf8');
    if (!text.includes(`To: <${email}>`)) continue;
    const m = /^Reset-Token: (\S+)\r?$/m.exec(text);
    if (m) return m[1];
  }
  throw new Error(`no reset mail for ${email} in ${dir}`);
}
