import { describe, expect, it } from 'vitest';
import { serializeLine, TimelineChainBuilder } from './chain';

describe('TimelineChainBuilder.appendText', () => {
  it('gives the same bytes and chain as serializeLine(append(entry))', () => {
    const a = new TimelineChainBuilder('t1');
    const b = new TimelineChainBuilder('t1');
    for (let i = 0; i < 50; i++) {
      const entry = {
        position: `1-${i + 1}`,
        time: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
        actor: i % 3 === 0 ? '[erased]' : `user${i}@example.com`,
        action: 'INSTANCE_LAUNCH',
        resource: `instance/${i}`,
        summary: `Instance "quoted" \\ ${'é'.repeat(i % 4)} ${i}`,
      };
      expect(b.appendText(entry)).toBe(serializeLine(a.append(entry)));
    }
  });
});
