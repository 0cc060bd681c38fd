import { setCondition, isConditionTrue } from '../../../controllers/runtime';

describe('setCondition', () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const t1 = new Date('2026-01-01T00:05:00Z');

  it('keeps lastTransitionTime when the status does not flip', () => {
    const a = setCondition([], { type: 'Ready', status: 'True', reason: 'Up' }, t0);
    const b = setCondition(a, { type: 'Ready', status: 'True', reason: 'StillUp' }, t1);
    expect(b[0].lastTransitionTime).toBe(t0.toISOString());
    expect(b[0].reason).toBe('StillUp');
  });

  it('moves lastTransitionTime when the status flips, and leaves other conditions alone', () => {
    const a = setCondition([{ type: 'Other', status: 'False' }], { type: 'Ready', status: 'True' }, t0);
    const b = setCondition(a, { type: 'Ready', status: 'False' }, t1);
    expect(b.find((c) => c.type === 'Ready')!.lastTransitionTime).toBe(t1.toISOString());
    expect(b).toHaveLength(2);
    expect(isConditionTrue(b, 'Ready')).toBe(false);
    expect(a).not.toBe(b);
  });
});
