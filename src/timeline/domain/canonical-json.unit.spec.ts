import { describe, expect, it } from 'vitest';
import { canonicalJson, CanonicalJsonError } from './canonical-json';

describe('canonical JSON', () => {
  it.each<[unknown, string]>([
    [
      { b: 1, a: [true, null, 'x'], c: { z: 0, y: -0 } },
      '{"a":[true,null,"x"],"b":1,"c":{"y":0,"z":0}}',
    ],
    [{ a: undefined, b: 'é "q" \n\u0001' }, '{"b":"é \\"q\\" \\n\\u0001"}'],
    [[1.5, 1e21, 0.000001, 1e-7, 100], '[1.5,1e+21,0.000001,1e-7,100]'],
    // UTF-16 code unit order: uppercase before lowercase, "\u00e9" after "z", surrogates last
    [{ b: 1, B: 2, é: 3, z: 4, '\ud83d\ude00': 5, '': 6 }, '{"":6,"B":2,"b":1,"z":4,"é":3,"😀":5}'],
    ['[erased]', '"[erased]"'],
  ])('writes %j as %s', (value, text) => {
    expect(canonicalJson(value)).toBe(text);
  });

  it('is the same whatever the key insertion order', () => {
    expect(canonicalJson({ x: 1, y: { b: 2, a: 1 } })).toBe(
      canonicalJson({ y: { a: 1, b: 2 }, x: 1 }),
    );
  });

  it('round-trips through JSON.parse', () => {
    const value = { seq: 3, summary: 'tab\there', nested: [{ k: 'v' }] };
    const text = canonicalJson(value);
    expect(canonicalJson(JSON.parse(text))).toBe(text);
  });

  it.each<[string, unknown]>([
    ['NaN', NaN],
    ['Infinity', { a: Infinity }],
    ['bigint', { a: 1n }],
    ['Date', { a: new Date(0) }],
    ['Map', new Map()],
    ['undefined in an array', [1, undefined]],
    ['a function', { f: () => 1 }],
  ])('refuses %s', (_name, value) => {
    expect(() => canonicalJson(value)).toThrow(CanonicalJsonError);
  });
});
