import { isDns1035Label, isDns1123Label, isDns1123Subdomain, isLabelValue, isQualifiedName } from '../../../api/schema/names';

describe('name syntax', () => {
  it.each([
    ['web', true],
    ['a', true],
    ['0abc', true],
    ['my-name-1', true],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
    ['Web', false],
    ['-web', false],
    ['web-', false],
    ['we.b', false],
    ['we_b', false],
    ['', false],
  ])('DNS-1123 label %j valid=%s', (value, valid) => {
    expect(isDns1123Label(value).length === 0).toBe(valid);
  });

  it.each([
    ['example.com', true],
    ['web', true],
    ['a.b.c-d', true],
    [`${'a'.repeat(63)}.${'b'.repeat(63)}`, true],
    ['a'.repeat(254), false],
    ['Example.com', false],
    ['a..b', false],
    ['.a', false],
    ['a.', false],
    ['a_b', false],
  ])('DNS-1123 subdomain %j valid=%s', (value, valid) => {
    expect(isDns1123Subdomain(value).length === 0).toBe(valid);
  });

  it.each([
    ['v1', true],
    ['v1beta1', true],
    ['1v', false],
    ['V1', false],
  ])('DNS-1035 label %j valid=%s', (value, valid) => {
    expect(isDns1035Label(value).length === 0).toBe(valid);
  });

  it.each([
    ['app', true],
    ['app.kubernetes.io/name', true],
    ['example.com/My_Key.1', true],
    ['a/b/c', false],
    ['/name', false],
    ['prefix/', false],
    ['UPPER.com/x', false],
    ['-x', false],
    ['x'.repeat(64), false],
    ['', false],
  ])('qualified name %j valid=%s', (value, valid) => {
    expect(isQualifiedName(value).length === 0).toBe(valid);
  });

  it.each([
    ['', true],
    ['v1.2_3-x', true],
    ['x'.repeat(63), true],
    ['x'.repeat(64), false],
    ['has space', false],
    ['-lead', false],
    ['a/b', false],
  ])('label value %j valid=%s', (value, valid) => {
    expect(isLabelValue(value).length === 0).toBe(valid);
  });
});
