import { StorageError, WatchEvent } from '../../../api/storage';
import { WatchChannel } from '../../../api/storage/watch-channel';

const event = (revision: number): WatchEvent => ({ type: 'MODIFIED', key: '/k', object: { metadata: {} }, revision });
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('WatchChannel', () => {
  const open = (capacity: number, onEvent: (e: WatchEvent) => void | Promise<void>) => {
    const errors: StorageError[] = [];
    const ended: WatchChannel[] = [];
    const channel = new WatchChannel('/k', { fromRevision: 10, onEvent, onError: (e) => void errors.push(e) }, {
      capacity,
      revision: () => 10,
      onEnd: (c) => void ended.push(c),
    });
    return { channel, errors, ended };
  };

  it('delivers in order, once, and nothing at or below fromRevision', async () => {
    const seen: number[] = [];
    const { channel } = open(10, (e) => void seen.push(e.revision));
    [9, 10, 11, 12, 12, 11, 13].forEach((r) => channel.push(event(r)));
    await tick();
    expect(seen).toEqual([11, 12, 13]);
  });

  it('delivers a replay longer than its capacity, but ends a live backlog beyond it', async () => {
    const seen: number[] = [];
    let release: () => void = () => undefined;
    const { channel, errors, ended } = open(3, (e) => {
      seen.push(e.revision);
      if (e.revision === 20) return new Promise<void>((r) => (release = r)); // the consumer stalls here
    });
    channel.replay([11, 12, 13, 14, 15, 16, 17, 18].map(event));
    for (let r = 19; r <= 21; r++) channel.push(event(r)); // three live events fit beside the replay
    await tick();
    expect(seen).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(errors).toEqual([]);
    channel.push(event(22));
    channel.push(event(23)); // 21..23 pending: full
    await tick();
    expect(errors).toEqual([]);
    channel.push(event(24));
    await tick();
    expect(errors.map((e) => e.code)).toEqual(['Unavailable']);
    expect(ended).toEqual([channel]);
    release();
    await tick();
    expect(seen).toHaveLength(10);
  });

  it('ends with an error when the handler throws, and stays silent after stop()', async () => {
    const { channel, errors } = open(10, () => {
      throw new Error('boom');
    });
    channel.push(event(11));
    channel.push(event(12));
    await tick();
    expect(errors.map((e) => e.code)).toEqual(['Invalid']);
    expect((errors[0].cause as Error).message).toBe('boom');

    const seen: number[] = [];
    const quiet = open(10, (e) => void seen.push(e.revision));
    quiet.channel.push(event(11));
    quiet.channel.stop();
    quiet.channel.push(event(12));
    await tick();
    expect(seen).toEqual([]);
    expect(quiet.ended).toHaveLength(1);
  });
});
