import { describe, expect, it } from 'vitest';
import { createLogger, hashKey, maskAddress } from '../src/log.js';

describe('maskAddress', () => {
  it.each([
    ['203.0.113.77', '203.0.113.0'],
    ['::ffff:198.51.100.9', '198.51.100.0'],
    ['::1', '::'],
    ['2001:db8::5', '2001:db8::'],
    ['2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:db8:85a3::'],
    ['fe80::1ff:fe23:4567:890a%eth0', 'fe80::'],
    ['2001:db8:0:1::1', '2001:db8::'],
    ['::ffff:192.0.2.1:80', 'invalid'],
    ['', ''],
  ])('masks %s as %s', (address, masked) => {
    expect(maskAddress(address)).toBe(masked);
  });
});

describe('logger', () => {
  it('writes logfmt with fixed keys first, quoting values with spaces', () => {
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) }).child('tail');
    log.info('log file truncated', { file: '/var/log/a b.log', offset: 3 });
    log.debug('hidden');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^ts=\S+ level=info component=tail msg="log file truncated" file="\/var\/log\/a b.log" offset=3$/,
    );
  });

  it('hashes a key the same way within a process, never to itself', () => {
    expect(hashKey('17850')).toBe(hashKey('17850'));
    expect(hashKey('17850')).not.toBe(hashKey('17851'));
    expect(hashKey('17850')).toMatch(/^[0-9a-f]{12}$/);
  });
});
