import { describe, expect, it } from 'vitest';
import { spec } from '../../../test/support/decider-spec';
import { AppError } from '../../common/errors/app-error';
import {
  policyDecider,
  policyStatementProblems,
  validatePolicyStatements,
  type PolicyCommand,
  type PolicyEvent,
} from './policy';

const policyId = 'p-1';
const tenantId = 't-1';
const now = new Date('2026-05-01T00:00:00.000Z');
const iso = now.toISOString();
const statements = [
  { effect: 'Allow' as const, action: ['storage:list', 'storage:get'], resource: ['*'] },
];

const create: PolicyCommand = {
  type: 'CreatePolicy',
  policyId,
  tenantId,
  name: 'ReadOnlyS3',
  statements,
  now,
};
const created: PolicyEvent = {
  type: 'PolicyCreated',
  data: { policyId, tenantId, name: 'ReadOnlyS3', description: null, statements, createdAt: iso },
};
const attached = (userId: string): PolicyEvent => ({
  type: 'PolicyAttachedToUser',
  data: { policyId, tenantId, userId, at: iso },
});
const detached = (userId: string): PolicyEvent => ({
  type: 'PolicyDetachedFromUser',
  data: { policyId, tenantId, userId, at: iso },
});
const deleted: PolicyEvent = { type: 'PolicyDeleted', data: { policyId, tenantId, at: iso } };

function fieldsOf(run: () => unknown): Array<{ path: string; message: string }> {
  try {
    run();
  } catch (err) {
    if (err instanceof AppError)
      return (err.details?.fields ?? []) as Array<{ path: string; message: string }>;
    throw err;
  }
  throw new Error('expected a validation error');
}

describe('policy: CreatePolicy', () => {
  it('creates a policy', () => {
    spec(policyDecider).given([]).when(create).then([created]);
  });

  it('rejects an existing id and a bad name', () => {
    spec(policyDecider).given([created]).when(create).thenThrows('conflict');
    spec(policyDecider)
      .given([])
      .when({ ...create, name: 'has spaces' })
      .thenThrows('validation_error', /name/);
  });

  it('accepts wildcards and ARNs', () => {
    expect(
      policyStatementProblems([
        { effect: 'Deny', action: ['*'], resource: ['arn:nimbus:compute:*:instance/*'] },
        {
          effect: 'Allow',
          action: ['compute:*', '*:list', 'storage:get*'],
          resource: ['arn:nimbus:storage:t-1:bucket/logs/2026/*'],
        },
        { effect: 'Allow', action: ['iam:listPolicies'], resource: ['arn:nimbus:*:*:*'] },
      ]),
    ).toEqual([]);
  });

  it.each([
    ['not an array', { effect: 'Allow' }, 'statements'],
    ['empty', [], 'statements'],
    ['a statement that is not an object', ['Allow'], 'statements[0]'],
    ['a bad effect', [{ effect: 'allow', action: ['*'], resource: ['*'] }], 'statements[0].effect'],
    ['a missing action', [{ effect: 'Allow', resource: ['*'] }], 'statements[0].action'],
    [
      'an empty action list',
      [{ effect: 'Allow', action: [], resource: ['*'] }],
      'statements[0].action',
    ],
    [
      'an action without a service',
      [{ effect: 'Allow', action: ['list'], resource: ['*'] }],
      'statements[0].action[0]',
    ],
    [
      'an action with spaces',
      [{ effect: 'Allow', action: ['*', 'compute: launch'], resource: ['*'] }],
      'statements[0].action[1]',
    ],
    [
      'a non-string action',
      [{ effect: 'Allow', action: [42], resource: ['*'] }],
      'statements[0].action[0]',
    ],
    [
      'a foreign ARN',
      [{ effect: 'Allow', action: ['*'], resource: ['arn:aws:s3:::bucket'] }],
      'statements[0].resource[0]',
    ],
    [
      'an ARN without type/id',
      [{ effect: 'Allow', action: ['*'], resource: ['arn:nimbus:compute:t-1:instance'] }],
      'statements[0].resource[0]',
    ],
    [
      'a resource that is not an ARN',
      [{ effect: 'Allow', action: ['*'], resource: ['bucket-1'] }],
      'statements[0].resource[0]',
    ],
    [
      'an unknown field',
      [{ effect: 'Allow', action: ['*'], resource: ['*'], condition: {} }],
      'statements[0].condition',
    ],
    [
      'a bad second statement',
      [
        { effect: 'Allow', action: ['*'], resource: ['*'] },
        { effect: 'Deny', action: ['*'], resource: ['*', 'nope'] },
      ],
      'statements[1].resource[1]',
    ],
  ])('rejects %s with the path of the bad part', (_label, input, path) => {
    const fields = fieldsOf(() =>
      policyDecider.decide({ ...create, statements: input }, policyDecider.initialState()),
    );
    expect(fields.map((f) => f.path)).toContain(path);
  });

  it('validatePolicyStatements returns the statements or throws validation_error', () => {
    expect(validatePolicyStatements(statements)).toEqual(statements);
    expect(() => validatePolicyStatements([{}])).toThrow(
      expect.objectContaining({ code: 'validation_error' }),
    );
  });
});

describe('policy: attachments', () => {
  const attach = (userId: string): PolicyCommand => ({ type: 'AttachPolicyToUser', userId, now });
  const detach = (userId: string): PolicyCommand => ({ type: 'DetachPolicyFromUser', userId, now });

  it('attaches; attaching again is a no-op', () => {
    spec(policyDecider)
      .given([created])
      .when(attach('u1'))
      .then([attached('u1')]);
    spec(policyDecider)
      .given([created, attached('u1')])
      .when(attach('u1'))
      .then([]);
  });

  it('detaches; detaching what is not attached is not_found', () => {
    spec(policyDecider)
      .given([created, attached('u1')])
      .when(detach('u1'))
      .then([detached('u1')]);
    spec(policyDecider).given([created]).when(detach('u1')).thenThrows('not_found');
    spec(policyDecider)
      .given([created, attached('u1'), detached('u1')])
      .when(detach('u1'))
      .thenThrows('not_found');
  });

  it('a deleted or unknown policy cannot be attached', () => {
    spec(policyDecider).given([created, deleted]).when(attach('u1')).thenThrows('not_found');
    spec(policyDecider).given([]).when(attach('u1')).thenThrows('not_found');
  });
});

describe('policy: DeletePolicy', () => {
  it('deletes an unattached policy', () => {
    spec(policyDecider).given([created]).when({ type: 'DeletePolicy', now }).then([deleted]);
  });

  it('refuses while attached, naming the users', () => {
    spec(policyDecider)
      .given([created, attached('u1'), attached('u2')])
      .when({ type: 'DeletePolicy', now })
      .thenThrows('dependency_violation', /attached to 2 user/);
  });

  it('force detaches everyone and deletes in one append', () => {
    spec(policyDecider)
      .given([created, attached('u1'), attached('u2')])
      .when({ type: 'DeletePolicy', force: true, now })
      .then([detached('u1'), detached('u2'), deleted]);
  });

  it('deleting twice is not_found', () => {
    spec(policyDecider)
      .given([created, deleted])
      .when({ type: 'DeletePolicy', now })
      .thenThrows('not_found');
  });
});
