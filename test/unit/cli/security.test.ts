import { parseTtl } from '../../../cli/commands/security';

describe('berth token create --ttl', () => {
  it.each([
    ['90', 90],
    ['90s', 90],
    ['30m', 1800],
    ['24h', 86400],
    ['7d', 604800],
  ])('%s is %i seconds', (ttl, seconds) => {
    expect(parseTtl(ttl)).toBe(seconds);
  });

  it.each(['0', '0h', '-5m', '1.5h', '1w', 'h', '', '10 m'])('refuses %j', (ttl) => {
    expect(() => parseTtl(ttl)).toThrow(`--ttl must be a positive duration like 3600, 30m, 24h or 7d, not "${ttl}"`);
  });
});
