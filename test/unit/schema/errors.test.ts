import { fieldErrorText } from '../../../api/schema';
import { fieldErrors, formatValue } from '../../../api/schema/errors';

describe('field errors in Kubernetes wording', () => {
  it.each([
    [fieldErrors.required('spec.image'), 'FieldValueRequired', 'Required value'],
    [fieldErrors.required('metadata.name', 'name or generateName is required'), 'FieldValueRequired', 'Required value: name or generateName is required'],
    [fieldErrors.invalid('spec.replicas', -1, 'must be >= 0'), 'FieldValueInvalid', 'Invalid value: -1: must be >= 0'],
    [fieldErrors.typeInvalid('spec.replicas', 'string', 'wrong type'), 'FieldValueTypeInvalid', 'Invalid value: "string": wrong type'],
    [fieldErrors.notSupported('spec.restartPolicy', 'X', ['Always', 'Never']), 'FieldValueNotSupported', 'Unsupported value: "X": supported values: "Always", "Never"'],
    [fieldErrors.duplicate('spec.ports[1]', { port: 80 }), 'FieldValueDuplicate', 'Duplicate value: {"port":80}'],
    [fieldErrors.forbidden('metadata.namespace', 'not allowed on this type'), 'FieldValueForbidden', 'Forbidden: not allowed on this type'],
    [fieldErrors.tooLong('metadata.annotations', 262144), 'FieldValueTooLong', 'Too long: may not be more than 262144 bytes'],
    [fieldErrors.tooMany('spec.items', 5, 3), 'FieldValueTooMany', 'Too many: 5: must have at most 3 items'],
  ])('%j', (error, reason, message) => {
    expect(error.reason).toBe(reason);
    expect(error.message).toBe(message);
    expect(fieldErrorText(error)).toBe(`${error.field}: ${message}`);
  });

  it('prints a root error without a field', () => {
    expect(fieldErrorText(fieldErrors.invalid('', 'x', 'bad'))).toBe('Invalid value: "x": bad');
  });

  it.each([
    ['a', '"a"'],
    [3, '3'],
    [true, 'true'],
    [null, 'null'],
    [undefined, 'null'],
    [{ a: [1] }, '{"a":[1]}'],
    ['x'.repeat(200), `"${'x'.repeat(116)}...`],
  ])('formatValue(%j) = %s', (value, text) => {
    expect(formatValue(value)).toBe(text);
  });
});
