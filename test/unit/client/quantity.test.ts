import { parseBytes, parseCpuMillis, parseQuantity } from '../../../client/quantity';

describe('quantities', () => {
  it.each([
    ['500m', 500],
    ['2', 2000],
    ['0.25', 250],
    [1, 1000],
  ])('cpu %p is %p millicores', (q, want) => expect(parseCpuMillis(q)).toBe(want));

  it.each([
    ['128Mi', 128 * 2 ** 20],
    ['1G', 1e9],
    ['1e3', 1000],
    ['64Ki', 65536],
    ['100', 100],
  ])('bytes %p is %p', (q, want) => expect(parseBytes(q)).toBe(want));

  it.each(['', 'abc', '12Xi', '1..2', 'Mi', '--1'])('rejects %p naming it', (q) => {
    expect(() => parseQuantity(q)).toThrow(`invalid quantity ${JSON.stringify(q)}`);
  });
});
