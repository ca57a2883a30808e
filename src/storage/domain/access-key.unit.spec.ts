import { describe, it } from 'vitest';
import { spec } from '../../../test/support/decider-spec';
import { accessKeyDecider, type AccessKeyEvent } from './access-key';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();
const create = {
  type: 'CreateAccessKey' as const,
  id: 'k-1',
  tenantId: 't-1',
  userId: 'u-1',
  accessKeyId: 'NIMBABCDEFGHIJKLMNOP',
  sealedSecret: 's3k1.a.b.c',
  now: NOW,
};
const created: AccessKeyEvent = {
  type: 'S3AccessKeyCreated',
  data: {
    id: 'k-1',
    tenantId: 't-1',
    userId: 'u-1',
    accessKeyId: 'NIMBABCDEFGHIJKLMNOP',
    sealedSecret: 's3k1.a.b.c',
    at: AT,
  },
};

describe('S3 access key decider', () => {
  it('creates a key', () => {
    spec(accessKeyDecider).given([]).when(create).then([created]);
  });
  it('a retried creation appends nothing', () => {
    spec(accessKeyDecider).given([created]).when(create).then([]);
  });
  it('refuses a malformed access key id', () => {
    spec(accessKeyDecider)
      .given([])
      .when({ ...create, accessKeyId: 'AKIA-lower' })
      .thenThrows('validation_error');
  });
  it('deletes a live key once', () => {
    spec(accessKeyDecider)
      .given([created])
      .when({ type: 'DeleteAccessKey', now: NOW })
      .then([
        {
          type: 'S3AccessKeyDeleted',
          data: { id: 'k-1', tenantId: 't-1', accessKeyId: 'NIMBABCDEFGHIJKLMNOP', at: AT },
        },
      ]);
    const deleted: AccessKeyEvent = {
      type: 'S3AccessKeyDeleted',
      data: { id: 'k-1', tenantId: 't-1', accessKeyId: 'NIMBABCDEFGHIJKLMNOP', at: AT },
    };
    spec(accessKeyDecider)
      .given([created, deleted])
      .when({ type: 'DeleteAccessKey', now: NOW })
      .thenThrows('not_found');
  });
  it('a key that never was is 404', () => {
    spec(accessKeyDecider)
      .given([])
      .when({ type: 'DeleteAccessKey', now: NOW })
      .thenThrows('not_found');
  });
});
