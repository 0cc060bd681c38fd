import { chooseNode, NodeView, Usage } from '../../../controllers/scheduler/placement';

const GiB = 2 ** 30;
const newNode = (name: string, over: Partial<NodeView> = {}): NodeView => ({
  name,
  ready: true,
  unschedulable: false,
  labels: {},
  allocatable: { cpuMillis: 2000, memoryBytes: 4 * GiB, pids: 10000 },
  ...over,
});
const used = (containers: number, memoryBytes = 0): Usage => ({ cpuMillis: 0, memoryBytes, pids: 0, containers });
const small = { cpuMillis: 100, memoryBytes: 64 * 2 ** 20, pids: 100 };

describe('chooseNode', () => {
  it('spreads: the node with the fewest containers wins', () => {
    const usage = new Map([['a', used(3)], ['b', used(1)], ['c', used(2)]]);
    expect(chooseNode(small, [newNode('a'), newNode('b'), newNode('c')], usage)).toEqual({ node: 'b' });
  });

  it('breaks ties by free memory, then by name', () => {
    const usage = new Map([['a', used(1, GiB)], ['b', used(1, 0)]]);
    expect(chooseNode(small, [newNode('a'), newNode('b')], usage)).toEqual({ node: 'b' });
    expect(chooseNode(small, [newNode('y'), newNode('x')], new Map())).toEqual({ node: 'x' });
  });

  it.each([
    [{ ready: false }, 'node is not Ready'],
    [{ unschedulable: true }, 'node is unschedulable'],
    [{ labels: { zone: 'b' } }, 'nodeSelector zone=a'],
    [{ allocatable: { cpuMillis: 50, memoryBytes: GiB, pids: 1000 } }, 'insufficient cpu'],
    [{ allocatable: { cpuMillis: 4000, memoryBytes: 1024, pids: 1000 } }, 'insufficient memory'],
    [{ allocatable: { cpuMillis: 4000, memoryBytes: GiB, pids: 10 } }, 'insufficient pids'],
  ])('rejects a node with %p and says why', (over, why) => {
    const placement = chooseNode({ ...small, nodeSelector: { zone: 'a' } }, [newNode('n1', { labels: { zone: 'a' }, ...over })], new Map());
    expect(placement).toEqual({ reason: expect.stringContaining(why) });
    expect((placement as { reason: string }).reason).toMatch(/^0\/1 nodes are available: n1: /);
  });

  it('treats 0 allocatable as unlimited and reports an empty cluster', () => {
    expect(chooseNode(small, [newNode('a', { allocatable: { cpuMillis: 0, memoryBytes: 0, pids: 0 } })], new Map())).toEqual({ node: 'a' });
    expect(chooseNode(small, [], new Map())).toEqual({ reason: 'no nodes are registered' });
  });
});
