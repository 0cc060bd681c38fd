import { SchemaRegistry, fieldErrorText } from '../../../api/schema';

const registry = SchemaRegistry.withBuiltins();
const info = registry.resolve('berth.dev', 'v1', 'secrets');

const messagesFor = (body: Record<string, unknown>): string =>
  registry
    .validate(info!, { apiVersion: 'berth.dev/v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, ...body })
    .errors.map(fieldErrorText)
    .join('\n');

describe('Secret validation errors never quote a secret value', () => {
  it.each([
    ['a value that is not base64', { data: { password: 'not base64 hunter2!!' } }, 'hunter2'],
    ['a long value (cut at 120 characters)', { data: { password: `${'x!'.repeat(100)}hunter2` } }, 'x!x!x!'],
    ['a value also used as a bare word', { data: { token: 'not base64 hunter2!!', other: 'aHVudGVyMg==' } }, 'hunter2'],
  ])('%s', (_what, body, leak) => {
    const text = messagesFor(body);
    expect(text).toContain('Invalid value: "[redacted]"');
    expect(text).not.toContain(leak);
  });

  it('still names the field and keeps other kinds untouched', () => {
    expect(messagesFor({ data: { password: 'not base64 hunter2!!' } })).toMatch(/^data\[password\]: Invalid value: "\[redacted\]": data\[password\] in body must be of type byte/);
    const network = registry.resolve('berth.dev', 'v1', 'networks');
    const errors = registry.validate(network!, { apiVersion: 'berth.dev/v1', kind: 'Network', metadata: { name: 'n', namespace: 'default' }, spec: { driver: 'hunter2-driver' } }).errors;
    expect(errors.map(fieldErrorText).join('\n')).toContain('hunter2-driver');
  });
});
