import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandExecutor } from '../../src/eventstore/command-executor';
import { claimDecider, policyNameClaimId } from '../../src/identity/domain/claim';
import { systemContext } from '../../src/platform/commands/system-context';
import { startTestApp, type TestApp } from '../support/app';
import { conformingHttp } from '../support/sdk';
import { bearer, signUp, type Account } from './identity.helpers';

const STATEMENTS = [{ effect: 'Allow', action: ['apikey:create'], resource: ['*'] }];

describe('policy names are unique within a tenant (e2e)', () => {
  let t: TestApp;
  let owner: Account;

  beforeAll(async () => {
    t = await startTestApp({ label: 'policy-names', config: { authRateLimitPerMinute: 10_000 } });
    owner = await signUp(t, 'policy-names');
  });
  afterAll(async () => {
    await t?.close();
  });

  const create = (name: string) =>
    t
      .http()
      .post('/iam/policies')
      .set(bearer(owner.accessToken))
      .send({ name, statements: STATEMENTS });

  it('of concurrent creates with one name exactly one wins; the others are 409 and append no policy', async () => {
    const attempts = await Promise.all([0, 1, 2, 3].map(() => create('Racing')));
    expect(attempts.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
    for (const lost of attempts.filter((r) => r.status === 409)) {
      expect(lost.body.error).toMatchObject({ code: 'conflict', details: { field: 'name' } });
    }
    const listed = await conformingHttp(t).get('/iam/policies').set(bearer(owner.accessToken));
    expect(listed.body.filter((p: { name: string }) => p.name === 'Racing')).toHaveLength(1);
  });

  it('a deleted policy frees its name, also when the release was lost', async () => {
    const first = await create('Reused');
    expect(first.status).toBe(201);
    expect(
      (
        await conformingHttp(t)
          .delete(`/iam/policies/${first.body.id}`)
          .set(bearer(owner.accessToken))
      ).status,
    ).toBe(204);
    const second = await create('Reused');
    expect(second.status, JSON.stringify(second.body)).toBe(201);

    // A crash between the delete and the release leaves the claim held by a deleted policy.
    const claimId = policyNameClaimId(owner.tenantId, 'Reused');
    const executor = t.app.get(CommandExecutor);
    await conformingHttp(t)
      .delete(`/iam/policies/${second.body.id}`)
      .set(bearer(owner.accessToken));
    await executor.execute(
      claimDecider,
      claimId,
      { type: 'ClaimValue', claimId, ownerId: second.body.id, now: new Date() },
      systemContext('test', { tenantId: owner.tenantId }),
    );
    const third = await create('Reused');
    expect(third.status, JSON.stringify(third.body)).toBe(201);
    const claim = await executor.load(claimDecider, claimId);
    expect(claim.state.ownerId).toBe(third.body.id);
  });
});
