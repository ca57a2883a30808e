import { describe, expect, it } from 'vitest';
import {
  findUnstorable,
  isIdParam,
  jsonNestsDeeperThan,
  resourceKindOfParam,
  unstorableReason,
} from './input-guards';

describe('jsonNestsDeeperThan', () => {
  it('counts arrays and objects, not brackets inside strings', () => {
    expect(jsonNestsDeeperThan('{"a":[[1]]}', 3)).toBe(false);
    expect(jsonNestsDeeperThan('{"a":[[[1]]]}', 3)).toBe(true);
    expect(jsonNestsDeeperThan(`{"a":"${'['.repeat(100)}"}`, 3)).toBe(false);
    expect(jsonNestsDeeperThan(`{"a":"\\"${'{'.repeat(100)}"}`, 3)).toBe(false);
    expect(jsonNestsDeeperThan('['.repeat(100_000), 64)).toBe(true);
  });
});

describe('strings the database cannot store', () => {
  it('NUL characters and unpaired surrogates', () => {
    expect(unstorableReason('plain é 😀')).toBeNull();
    expect(unstorableReason('a\u0000b')).toMatch(/NUL/);
    expect(unstorableReason('\ud800')).toMatch(/surrogate/);
    expect(unstorableReason('x\udc00')).toMatch(/surrogate/);
  });

  it('finds the first one with its field path, keys included', () => {
    expect(findUnstorable({ a: [{ b: 'ok' }, { b: 'x\u0000' }] })).toEqual({
      path: 'a.1.b',
      message: 'must not contain a NUL character',
    });
    expect(findUnstorable({ tags: { 'k\u0000': 'v' } })?.path).toBe('tags');
    expect(findUnstorable('\u0000')?.path).toBe('body');
    expect(findUnstorable({ n: 1, b: true, z: null, s: 'fine' })).toBeNull();
    expect(findUnstorable(Buffer.from([0]))).toBeNull();
  });
});

describe('id path parameters', () => {
  it('are id, ...Id and ..._id', () => {
    expect(['id', 'userId', 'policyId', 'resource_id'].every(isIdParam)).toBe(true);
    expect(['sku', 'name', 'Id'].some(isIdParam)).toBe(false);
  });

  it('name the resource kind', () => {
    expect(resourceKindOfParam('/iam/policies/:id', 'id')).toBe('policy');
    expect(resourceKindOfParam('/instances/:id/stop', 'id')).toBe('instance');
    expect(resourceKindOfParam('/iam/users/:userId/policies/:policyId', 'userId')).toBe('user');
    expect(resourceKindOfParam('/logs/:resource_id', 'resource_id')).toBe('resource');
  });
});
