import { describe, expect, it } from 'vitest';
import { AppError } from '../../common/errors/app-error';
import {
  formatPorts,
  imageNameProblems,
  importUrlProblems,
  instanceNameProblems,
  mountPathProblems,
  normalizeMountPath,
  parsePortMappings,
  parsePorts,
  tagsProblems,
  textProblems,
  userDataProblems,
  volumeMountProblems,
  volumeSizeProblems,
} from './validation';

describe('instance names', () => {
  it.each(['a', 'web-01', 'WEB_01', '0', 'x'.repeat(64), 'a-b_c-9'])('accepts %j', (name) => {
    expect(instanceNameProblems(name)).toEqual([]);
  });

  it.each([
    ['', /must not be empty/],
    ['x'.repeat(65), /at most 64/],
    ['web 01', /only letters/],
    ['web.01', /only letters/],
    ['web-🚀', /only letters/],
    ['🚀', /only letters/],
    ['café', /only letters/],
    ['a/b', /only letters/],
    [42, /must be a string/],
    [null, /must be a string/],
  ])('rejects %j', (name, message) => {
    const problems = instanceNameProblems(name);
    expect(problems).toHaveLength(1);
    expect(problems[0].path).toBe('name');
    expect(problems[0].message).toMatch(message);
  });
});

describe('ports', () => {
  it.each([
    [undefined, []],
    ['', []],
    ['80:80', [{ host: 80, container: 80 }]],
    [
      ' 8080:80 , 8443:443 ',
      [
        { host: 8080, container: 80 },
        { host: 8443, container: 443 },
      ],
    ],
    ['1:65535', [{ host: 1, container: 65535 }]],
    [
      '8080:80,8081:80',
      [
        { host: 8080, container: 80 },
        { host: 8081, container: 80 },
      ],
    ],
    [
      Array.from({ length: 10 }, (_, i) => `${9000 + i}:80`).join(','),
      Array.from({ length: 10 }, (_, i) => ({ host: 9000 + i, container: 80 })),
    ],
  ])('parses %j', (input, expected) => {
    expect(parsePorts(input)).toEqual(expected);
  });

  it.each([
    ['80', /must be "host:container"/],
    ['80:80:80', /must be "host:container"/],
    [':80', /host port "" is not a port number/],
    ['a:80', /host port "a" is not a port number/],
    ['80:b', /container port "b" is not a port number/],
    ['0:80', /host port 0 is out of range 1..65535/],
    ['80:65536', /container port 65536 is out of range/],
    ['-1:80', /not a port number/],
    ['80:80,', /must be "host:container"/],
    ['80:80,80:81', /host port 80 appears more than once/],
    ['1.5:80', /not a port number/],
    [
      Array.from({ length: 11 }, (_, i) => `${9000 + i}:80`).join(','),
      /has 11 mappings; at most 10/,
    ],
    [8080, /must be a string/],
  ])('rejects %j', (input, message) => {
    const { mappings, problems } = parsePortMappings(input);
    expect(mappings).toEqual([]);
    expect(problems.map((p) => p.message).join('; ')).toMatch(message);
    expect(() => parsePorts(input)).toThrow(AppError);
  });

  it('names the offending item and throws validation_error with details.fields', () => {
    try {
      parsePorts('80:80,x:1');
      expect.unreachable();
    } catch (err) {
      const e = err as AppError;
      expect(e.code).toBe('validation_error');
      expect(e.details?.fields).toEqual([
        { path: 'ports[1]', message: 'host port "x" is not a port number' },
      ]);
    }
  });

  it('formats back to the API form', () => {
    expect(formatPorts(parsePorts('8080:80,8443:443'))).toBe('8080:80,8443:443');
  });
});

describe('mount paths', () => {
  it.each(['/data', '/var/lib/app', '/data/', '/a_b-c.d'])('accepts %j', (p) => {
    expect(mountPathProblems(p)).toEqual([]);
  });

  it.each([
    ['', /must not be empty/],
    ['data', /absolute/],
    ['./data', /absolute/],
    ['/', /root/],
    ['//', /root/],
    ['/data/../etc', /"\.\."/],
    ['/..', /"\.\."/],
    ['/data/./x', /"\."/],
    ['/data:ro', /":"/],
    ['/a\nb', /control/],
    ['/' + 'x'.repeat(300), /at most 255/],
    [7, /must be a string/],
  ])('rejects %j', (p, message) => {
    expect(mountPathProblems(p)[0]?.message).toMatch(message);
  });

  it('normalises', () => {
    expect(normalizeMountPath('/data//x/')).toBe('/data/x');
  });

  it('rejects duplicate volumes and duplicate paths (after normalising)', () => {
    expect(
      volumeMountProblems([
        { volumeId: 'v1', mountPath: '/data' },
        { volumeId: 'v2', mountPath: '/data/' },
        { volumeId: 'v1', mountPath: '/other' },
      ]),
    ).toEqual([
      { path: 'volumes[1].mount_path', message: '/data is used twice' },
      { path: 'volumes[2].volume_id', message: 'volume v1 appears twice' },
    ]);
    expect(volumeMountProblems([{ volumeId: '', mountPath: 'x' }])).toHaveLength(2);
    expect(volumeMountProblems('nope')).toEqual([{ path: 'volumes', message: 'must be an array' }]);
    expect(volumeMountProblems(undefined)).toEqual([]);
  });
});

describe('tags', () => {
  it.each([
    [{}],
    [{ env: 'prod' }],
    [{ 'app/name': 'web', 'cost-center': '42', owner: 'ops@example', empty: '' }],
    [{ équipe: 'données' }],
    [Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']))],
  ])('accepts %j', (tags) => {
    expect(tagsProblems(tags)).toEqual([]);
  });

  it.each([
    [[], /must be an object/],
    ['env=prod', /must be an object/],
    [null, /must be an object/],
    [{ '': 'x' }, /key must be 1..128/],
    [{ ['k'.repeat(129)]: 'x' }, /key must be 1..128/],
    [{ env: 'v'.repeat(257) }, /value must be at most 256/],
    [{ env: 3 }, /value must be a string/],
    [{ 'a;b': 'x' }, /key may contain/],
    [{ env: 'x\n' }, /value may contain/],
    [{ 'NIMBUS:owner': 'x' }, /reserved/],
    [Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])), /at most 50/],
  ])('rejects %j', (tags, message) => {
    expect(
      tagsProblems(tags)
        .map((p) => p.message)
        .join('; '),
    ).toMatch(message);
  });
});

describe('other fields', () => {
  it('user data: at most 16 KiB of UTF-8', () => {
    expect(userDataProblems(null)).toEqual([]);
    expect(userDataProblems('x'.repeat(16384))).toEqual([]);
    expect(userDataProblems('é'.repeat(8193))[0].message).toMatch(/16384 bytes/);
    expect(userDataProblems(5)[0].message).toMatch(/string/);
  });

  it.each([
    [1, true],
    [16384, true],
    [0, false],
    [16385, false],
    [1.5, false],
    ['10', false],
  ])('volume size %j valid: %s', (size, ok) => {
    expect(volumeSizeProblems(size).length === 0).toBe(ok);
  });

  it.each([
    ['ubuntu-22.04', true],
    ['busybox', true],
    ['my_image.v2', true],
    ['', false],
    ['-lead', false],
    ['with space', false],
    ['a/b', false],
    ['x'.repeat(129), false],
  ])('image name %j valid: %s', (name, ok) => {
    expect(imageNameProblems(name).length === 0).toBe(ok);
  });

  it.each([
    ['https://images.example/rootfs.tar', true],
    ['http://127.0.0.1:8080/x.tar.gz', true],
    ['ftp://example/x', false],
    ['file:///etc/passwd', false],
    ['not a url', false],
    ['https://user:pw@example/x', false],
    ['', false],
  ])('import url %j valid: %s', (url, ok) => {
    expect(importUrlProblems(url).length === 0).toBe(ok);
  });

  it('free text: bounded, newlines allowed, other control characters not', () => {
    expect(textProblems('line1\nline2', 'description', 100)).toEqual([]);
    expect(textProblems('a\u0007', 'description', 100)[0].message).toMatch(/control/);
    expect(textProblems('abc', 'os', 2)[0].message).toMatch(/at most 2/);
    expect(textProblems(undefined, 'os', 2, true)[0].message).toMatch(/required/);
  });
});
