import { WorkQueue } from '../../../controllers/runtime';
import { ManualClock } from '../../helpers/manual-clock';

describe('WorkQueue', () => {
  it('deduplicates keys that are waiting', async () => {
    const q = new WorkQueue();
    q.add('a');
    q.add('a');
    q.add('b');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('a');
    expect(await q.get()).toBe('b');
  });

  it('never hands a key being processed to a second worker, and requeues it on done if it was added meanwhile', async () => {
    const q = new WorkQueue();
    q.add('a');
    const key = await q.get();
    q.add('a');
    expect(q.length).toBe(0);
    q.done(key!);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('a');
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const q = new WorkQueue();
    const pending = q.get();
    q.add('x');
    expect(await pending).toBe('x');
  });

  it('backs off exponentially per key until forget', () => {
    const clock = new ManualClock();
    const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 35 }, clock);
    q.addRateLimited('a'); // 10 ms
    clock.advance(9);
    expect(q.length).toBe(0);
    clock.advance(1);
    expect(q.length).toBe(1);
    void q.get().then((k) => q.done(k!));
    q.addRateLimited('b');
    q.addRateLimited('b');
    q.addRateLimited('b'); // 10, 20, then 40 capped at 35 — the earliest pending add wins
    expect(q.numRequeues('b')).toBe(3);
    q.forget('b');
    expect(q.numRequeues('b')).toBe(0);
  });

  it('returns undefined to every waiter after shutdown', async () => {
    const q = new WorkQueue();
    const a = q.get();
    const b = q.get();
    q.shutdown();
    expect(await a).toBeUndefined();
    expect(await b).toBeUndefined();
    q.add('late');
    expect(await q.get()).toBeUndefined();
  });
});
