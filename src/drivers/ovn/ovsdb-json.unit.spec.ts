import { describe, expect, it } from 'vitest';

import { mapColumn, parseOvsdbTable, quotedPair, setColumn, stringColumn } from './ovsdb-json';

describe('OVSDB JSON tables', () => {
  it('reads uuids, strings, maps and sets', () => {
    const output = JSON.stringify({
      headings: ['_uuid', 'name', 'external_ids', 'networks', 'ports'],
      data: [
        [
          ['uuid', '6e135a3b-867d-421a-a9f5-101849838e8f'],
          'r1',
          [
            'map',
            [
              ['nimbus_owner', 'nimbus'],
              ['nimbus_vpc', 'v1'],
            ],
          ],
          '10.0.0.1/24',
          ['set', []],
        ],
        [['uuid', 'u2'], 'r2', ['map', []], ['set', ['a/1', 'b/2']], ['set', [['uuid', 'p1']]]],
      ],
    });
    const rows = parseOvsdbTable(`${output}\n`);
    expect(rows).toHaveLength(2);
    expect(stringColumn(rows[0], '_uuid')).toBe('6e135a3b-867d-421a-a9f5-101849838e8f');
    expect(mapColumn(rows[0], 'external_ids')).toEqual({
      nimbus_owner: 'nimbus',
      nimbus_vpc: 'v1',
    });
    expect(setColumn(rows[0], 'networks')).toEqual(['10.0.0.1/24']);
    expect(setColumn(rows[0], 'ports')).toEqual([]);
    expect(mapColumn(rows[1], 'external_ids')).toEqual({});
    expect(setColumn(rows[1], 'networks')).toEqual(['a/1', 'b/2']);
    expect(setColumn(rows[1], 'ports')).toEqual(['p1']);
  });

  it('reads nothing from empty output', () => {
    expect(parseOvsdbTable('')).toEqual([]);
  });

  it('quotes values so that any string stays one value', () => {
    expect(quotedPair('match', 'outport == @pg && ip4')).toBe('match="outport == @pg && ip4"');
    expect(quotedPair('external_ids:k', 'a"b')).toBe('external_ids:k="a\\"b"');
    expect(quotedPair('priority', 1001)).toBe('priority=1001');
  });
});
