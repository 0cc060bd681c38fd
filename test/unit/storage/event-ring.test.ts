import { EventRing } from '../../../api/storage/event-ring';
import { WatchEvent } from '../../../api/storage';

const event = (revision: number): WatchEvent => ({ type: 'ADDED', key: `/k/${revision}`, object: { metadata: {} }, revision });
const revisions = (ring: EventRing, after: number): number[] => [...ring.after(after)].map((e) => e.revision);

describe('EventRing', () => {
  it('keeps the newest events and reports what it evicts', () => {
    const ring = new EventRing(3);
    expect([1, 2, 3].map((r) => ring.push(event(r)))).toEqual([undefined, undefined, undefined]);
    expect(ring.push(event(4))?.revision).toBe(1);
    expect(ring.push(event(5))?.revision).toBe(2);
    expect(ring.size).toBe(3);
    expect(revisions(ring, 0)).toEqual([3, 4, 5]);
  });

  it.each([
    [0, [12, 15, 17, 20]],
    [12, [15, 17, 20]],
    [16, [17, 20]],
    [20, []],
    [99, []],
  ])('after(%d) yields the events with a higher revision', (after, expected) => {
    const ring = new EventRing(4);
    [10, 12, 15, 17, 20].forEach((r) => ring.push(event(r)));
    expect(revisions(ring, after)).toEqual(expected);
  });

  it('drops events through a revision and keeps accepting new ones', () => {
    const ring = new EventRing(4);
    [1, 2, 3, 4, 5].forEach((r) => ring.push(event(r)));
    ring.dropThrough(3);
    expect(revisions(ring, 0)).toEqual([4, 5]);
    [6, 7, 8].forEach((r) => ring.push(event(r)));
    expect(revisions(ring, 0)).toEqual([5, 6, 7, 8]);
    ring.clear();
    expect(ring.size).toBe(0);
  });

  it('refuses a capacity below one', () => {
    expect(() => new EventRing(0)).toThrow(RangeError);
  });
});
