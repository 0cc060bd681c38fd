import type { BerthNode, Image } from '../../../client';
import { prePullImageName, prePullState, servesRef, targetNodes } from '../../../controllers/service/pre-pull';

const node = (name: string, ready: boolean, unschedulable = false): BerthNode => ({
  metadata: { name },
  spec: { unschedulable },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: 'x', lastTransitionTime: '2026-01-01T00:00:00Z' }] },
});
const image = (status: NonNullable<Image['status']>): Image => ({ metadata: { name: 'web-pull-0123456789', namespace: 'default' }, spec: { ref: 'reg.local/app:v2' }, status });

describe('pre-pull', () => {
  it('targets the Ready, schedulable nodes', () => {
    expect(targetNodes([node('b', true), node('a', true), node('c', false), node('d', true, true)])).toEqual(['a', 'b']);
  });

  it.each([
    ['no Image yet', undefined, false, 'pre-pulling reg.local/app:v2: 0 of 2 node(s) hold it, waiting for a, b'],
    ['one node holds it', image({ digest: 'sha256:1', nodes: ['a'] }), false, 'pre-pulling reg.local/app:v2: 1 of 2 node(s) hold it, waiting for b'],
    ['nodes listed without a digest', image({ nodes: ['a', 'b'] }), false, 'pre-pulling reg.local/app:v2: 0 of 2 node(s) hold it, waiting for a, b'],
    ['every node holds it', image({ digest: 'sha256:1', nodes: ['b', 'a', 'z'] }), true, 'pre-pulled reg.local/app:v2 on 2 node(s)'],
    ['the pull failed', image({ phase: 'Failed', message: 'manifest unknown' }), true, 'pre-pull of reg.local/app:v2 failed (manifest unknown): the containers pull it themselves'],
  ] as const)('%s → done %s', (_what, img, done, message) => {
    expect(prePullState('reg.local/app:v2', img, ['a', 'b'])).toMatchObject({ done, message });
  });

  it('tells a failed pull from a finished one', () => {
    expect(prePullState('reg.local/app:v2', image({ phase: 'Failed' }), ['a'])).toMatchObject({ done: true, failed: true });
    expect(prePullState('reg.local/app:v2', image({ digest: 'sha256:1', nodes: ['a'] }), ['a'])).not.toHaveProperty('failed');
  });

  it('has nothing to wait for without nodes', () => {
    expect(prePullState('reg.local/app:v2', undefined, [])).toEqual({ done: true });
  });

  it('names one Image per Service and reference, and finds Images by name or by ref', () => {
    expect(prePullImageName('web', 'reg.local/app:v2')).toMatch(/^web-pull-[0-9a-f]{10}$/);
    expect(prePullImageName('web', 'reg.local/app:v2')).not.toBe(prePullImageName('web', 'reg.local/app:v3'));
    expect(servesRef(image({}), 'reg.local/app:v2')).toBe(true);
    expect(servesRef(image({}), 'web-pull-0123456789')).toBe(true);
    expect(servesRef(image({}), 'reg.local/app:v3')).toBe(false);
  });
});
