export { Scheduler, demandOf, nodeViewOf } from './scheduler';
export { chooseNode } from './placement';
export type { Demand, NodeView, Usage, Placement } from './placement';
