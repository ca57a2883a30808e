import { describe, expect, it } from 'vitest';
import { demuxLogs } from './docker-driver';

function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe('demuxLogs (Docker multiplexed log stream)', () => {
  it('splits frames into timestamped lines of stdout and stderr', () => {
    const buffer = Buffer.concat([
      frame(1, '2026-01-02T03:04:05.123456789Z hello world\n'),
      frame(2, '2026-01-02T03:04:06.000000000Z oops\n2026-01-02T03:04:07Z again\n'),
    ]);
    expect(demuxLogs(buffer)).toEqual([
      { at: '2026-01-02T03:04:05.123Z', stream: 'stdout', line: 'hello world' },
      { at: '2026-01-02T03:04:06.000Z', stream: 'stderr', line: 'oops' },
      { at: '2026-01-02T03:04:07.000Z', stream: 'stderr', line: 'again' },
    ]);
  });

  it('ignores a truncated trailing header and keeps lines without a timestamp', () => {
    const buffer = Buffer.concat([frame(1, 'no-stamp line\n'), Buffer.from([1, 0, 0])]);
    const lines = demuxLogs(buffer);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ stream: 'stdout', line: 'no-stamp line' });
  });
});
