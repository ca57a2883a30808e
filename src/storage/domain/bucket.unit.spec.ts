import { describe, expect, it } from 'vitest';
import { spec } from '../../../test/support/decider-spec';
import { bucketDecider, bucketVisibleTo, type BucketEvent } from './bucket';
import { bucketNameProblems } from './bucket-name';
import { bucketNamesDecider, type BucketNamesEvent } from './bucket-names';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();
const B = 'b-1';
const T = 't-1';

const created: BucketEvent = {
  type: 'BucketCreated',
  data: { bucketId: B, tenantId: T, name: 'my-assets', isPublic: false, at: AT },
};
const versioning = (v: 'enabled' | 'suspended'): BucketEvent => ({
  type: 'BucketVersioningChanged',
  data: { bucketId: B, versioning: v, at: AT },
});
const EMPTY = { versions: 0, uploads: 0 };

describe('bucket names: S3 rules', () => {
  it.each(['abc', 'my-assets', 'logs.2026', 'a'.repeat(63), '0day'])('accepts %s', (name) => {
    expect(bucketNameProblems(name)).toEqual([]);
  });

  it.each([
    ['ab', /3 to 63/],
    ['a'.repeat(64), /3 to 63/],
    ['My-Bucket', /lower-case/],
    ['my_bucket', /lower-case/],
    ['-abc', /start and end/],
    ['abc.', /start and end/],
    ['a..b', /adjacent dots/],
    ['192.168.1.10', /IP address/],
    ['xn--abc', /xn--/],
    ['sthree-abc', /sthree-/],
    ['abc-s3alias', /-s3alias/],
    ['abc--ol-s3', /--ol-s3/],
    ['buckets', /reserved/],
    ['access-keys', /reserved/],
  ])('refuses %s', (name, message) => {
    const problems = bucketNameProblems(name);
    expect(problems).toHaveLength(1);
    expect(problems[0].message).toMatch(message);
  });
});

describe('bucket name registry: unique across tenants', () => {
  const s = spec(bucketNamesDecider);
  const reserved: BucketNamesEvent = {
    type: 'BucketNameReserved',
    data: { name: 'my-assets', bucketId: B, tenantId: T, at: AT },
  };
  const reserve = (bucketId: string, tenantId: string) => ({
    type: 'ReserveBucketName' as const,
    name: 'my-assets',
    bucketId,
    tenantId,
    now: NOW,
  });

  it('reserves a free name', () => {
    s.given([]).when(reserve(B, T)).then([reserved]);
  });

  it('a retried reservation for the same bucket is a no-op', () => {
    s.given([reserved]).when(reserve(B, T)).then([]);
  });

  it("another tenant's name is 409 bucket_already_exists, saying nothing of the holder", () => {
    s.given([reserved])
      .when(reserve('b-2', 't-2'))
      .thenThrows('bucket_already_exists', /^the bucket name my-assets is taken/);
  });

  it('a name of the same tenant is 409 bucket_already_owned_by_you', () => {
    s.given([reserved]).when(reserve('b-2', T)).thenThrows('bucket_already_owned_by_you');
  });

  it('two tenants racing: the loser re-decides on the winner state and is refused', () => {
    // Both read the empty registry; the first append wins, the executor re-runs the second.
    const first = bucketNamesDecider.decide(reserve(B, T), bucketNamesDecider.initialState());
    expect(first).toHaveLength(1);
    const after = first.reduce(bucketNamesDecider.evolve, bucketNamesDecider.initialState());
    expect(() => bucketNamesDecider.decide(reserve('b-2', 't-2'), after)).toThrow(/taken/);
  });

  it('a released name may be taken again; releasing what is not held is a no-op', () => {
    const released: BucketNamesEvent = {
      type: 'BucketNameReleased',
      data: { name: 'my-assets', bucketId: B, at: AT },
    };
    s.given([reserved])
      .when({ type: 'ReleaseBucketName', name: 'my-assets', bucketId: B, now: NOW })
      .then([released]);
    s.given([reserved])
      .when({ type: 'ReleaseBucketName', name: 'my-assets', bucketId: 'b-2', now: NOW })
      .then([]);
    s.given([reserved, released])
      .when(reserve('b-2', 't-2'))
      .then([
        {
          type: 'BucketNameReserved',
          data: { name: 'my-assets', bucketId: 'b-2', tenantId: 't-2', at: AT },
        },
      ]);
  });

  it('names such as __proto__ are only names', () => {
    s.given([])
      .when({ ...reserve(B, T), name: 'constructor' })
      .then([
        {
          type: 'BucketNameReserved',
          data: { name: 'constructor', bucketId: B, tenantId: T, at: AT },
        },
      ]);
  });
});

describe('bucket decider: given/when/then', () => {
  const s = spec(bucketDecider);

  it('creates a bucket', () => {
    s.given([])
      .when({
        type: 'CreateBucket',
        bucketId: B,
        tenantId: T,
        name: 'my-assets',
        isPublic: false,
        now: NOW,
      })
      .then([created]);
  });

  it('refuses an invalid name with validation_error on name', () => {
    s.given([])
      .when({
        type: 'CreateBucket',
        bucketId: B,
        tenantId: T,
        name: 'Bad_Name',
        isPublic: false,
        now: NOW,
      })
      .thenThrows('validation_error');
  });

  it('versioning: disabled -> enabled -> suspended -> enabled; off when never on is a no-op', () => {
    s.given([created]).when({ type: 'SetBucketVersioning', enabled: false, now: NOW }).then([]);
    s.given([created])
      .when({ type: 'SetBucketVersioning', enabled: true, now: NOW })
      .then([versioning('enabled')]);
    s.given([created, versioning('enabled')])
      .when({ type: 'SetBucketVersioning', enabled: true, now: NOW })
      .then([]);
    s.given([created, versioning('enabled')])
      .when({ type: 'SetBucketVersioning', enabled: false, now: NOW })
      .then([versioning('suspended')]);
    s.given([created, versioning('enabled'), versioning('suspended')])
      .when({ type: 'SetBucketVersioning', enabled: true, now: NOW })
      .then([versioning('enabled')]);
  });

  it('delete: empty only, unless forced', () => {
    s.given([created])
      .when({ type: 'DeleteBucket', contents: EMPTY, force: false, now: NOW })
      .then([
        {
          type: 'BucketDeleted',
          data: { bucketId: B, name: 'my-assets', forced: false, removed: EMPTY, at: AT },
        },
      ]);
    s.given([created])
      .when({ type: 'DeleteBucket', contents: { versions: 2, uploads: 0 }, force: false, now: NOW })
      .thenThrows('bucket_not_empty', /2 object version/);
    s.given([created])
      .when({ type: 'DeleteBucket', contents: { versions: 0, uploads: 1 }, force: false, now: NOW })
      .thenThrows('bucket_not_empty', /1 multipart upload/);
    s.given([created])
      .when({ type: 'DeleteBucket', contents: { versions: 2, uploads: 1 }, force: true, now: NOW })
      .thenState((after, events) => {
        expect(after.status).toBe('DELETED');
        expect(events[0]).toMatchObject({
          data: { forced: true, removed: { versions: 2, uploads: 1 } },
        });
      });
  });

  it('a deleted or missing bucket is 404 for every command', () => {
    const deleted: BucketEvent = {
      type: 'BucketDeleted',
      data: { bucketId: B, name: 'my-assets', forced: false, removed: EMPTY, at: AT },
    };
    s.given([created, deleted])
      .when({ type: 'SetBucketVersioning', enabled: true, now: NOW })
      .thenThrows('not_found');
    s.given([])
      .when({ type: 'DeleteBucket', contents: EMPTY, force: false, now: NOW })
      .thenThrows('not_found');
  });

  it('lifecycle rules: add, repeat identically (no-op), conflicting id, remove, validation', () => {
    const rule = { ruleId: 'r-1', prefix: 'logs/', expirationDays: 30 };
    const added: BucketEvent = { type: 'LifecycleRuleAdded', data: { bucketId: B, rule, at: AT } };
    s.given([created]).when({ type: 'AddLifecycleRule', rule, now: NOW }).then([added]);
    s.given([created, added]).when({ type: 'AddLifecycleRule', rule, now: NOW }).then([]);
    s.given([created, added])
      .when({ type: 'AddLifecycleRule', rule: { ...rule, expirationDays: 7 }, now: NOW })
      .thenThrows('conflict');
    s.given([created, added])
      .when({ type: 'RemoveLifecycleRule', ruleId: 'r-1', now: NOW })
      .thenState((after) => expect(after.lifecycleRules).toEqual([]));
    s.given([created])
      .when({ type: 'RemoveLifecycleRule', ruleId: 'r-1', now: NOW })
      .thenThrows('not_found');
    s.given([created])
      .when({ type: 'AddLifecycleRule', rule: { ...rule, expirationDays: 0 }, now: NOW })
      .thenThrows('validation_error');
  });

  it("another tenant's bucket is not visible", () => {
    const state = [created].reduce(bucketDecider.evolve, bucketDecider.initialState());
    expect(bucketVisibleTo(state, T)).toBe(true);
    expect(bucketVisibleTo(state, 't-2')).toBe(false);
  });
});
