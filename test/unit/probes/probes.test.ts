import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { httpCheck, ProbeKind, ProbeWorker, tcpCheck } from '../../../node-agent/probes';
import { ManualClock } from '../../helpers/manual-clock';

const flush = () => new Promise((r) => setImmediate(r));

describe('ProbeWorker timing', () => {
  async function run(kind: ProbeKind, outcomes: boolean[], spec = {}) {
    const clock = new ManualClock();
    const verdicts: Array<[number, boolean]> = [];
    let attempts = 0;
    const start = clock.now();
    const worker = new ProbeWorker({
      kind,
      spec: { periodSeconds: 1, failureThreshold: 2, successThreshold: 2, initialDelaySeconds: 5, ...spec },
      check: async () => outcomes[attempts++] ?? true,
      onResult: (_k, ok) => verdicts.push([clock.now() - start, ok]),
      clock,
    });
    worker.start();
    for (let t = 0; t < outcomes.length + 6; t++) {
      clock.advance(1000);
      await flush();
    }
    worker.stop();
    return { verdicts, attempts };
  }

  it('waits initialDelaySeconds, then needs successThreshold successes to become ready', async () => {
    const { verdicts } = await run('readiness', [true, true]);
    expect(verdicts[0]).toEqual([6000, true]);
  });

  it('flips to failure only after failureThreshold consecutive failures', async () => {
    const { verdicts } = await run('liveness', [true, true, false, true, false, false]);
    expect(verdicts.slice(0, 2)).toEqual([
      [6000, true],
      [10000, false],
    ]);
  });

  it('retries a readiness probe that has never succeeded after 50 ms, doubling, then keeps periodSeconds', async () => {
    const clock = new ManualClock();
    const outcomes = [false, false, true, false];
    const attemptsAt: number[] = [];
    const verdicts: Array<[number, boolean]> = [];
    const w = new ProbeWorker({
      kind: 'readiness',
      spec: { periodSeconds: 10, failureThreshold: 1 },
      check: async () => (attemptsAt.push(clock.now()), outcomes[attemptsAt.length - 1] ?? true),
      onResult: (_k, ok) => verdicts.push([clock.now(), ok]),
      clock,
    });
    const start = clock.now();
    w.start();
    for (let t = 0; t <= 10_200; t += 10) {
      clock.advance(10);
      await flush();
    }
    w.stop();
    expect(attemptsAt.map((t) => t - start)).toEqual([0, 60, 160, 10_160]);
    expect(verdicts.map(([t, ok]) => [t - start, ok])).toEqual([
      [160, true],
      [10_160, false],
    ]);
  });

  it('stops attempting after stop()', async () => {
    const clock = new ManualClock();
    let attempts = 0;
    const w = new ProbeWorker({ kind: 'liveness', spec: { periodSeconds: 1 }, check: async () => (attempts++, true), onResult: () => {}, clock });
    w.start();
    clock.advance(0);
    await flush();
    w.stop();
    clock.advance(10_000);
    await flush();
    expect(attempts).toBe(1);
  });
});

describe('probe checks against real sockets', () => {
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      res.statusCode = req.url === '/healthy' ? 200 : req.url === '/moved' ? 302 : 500;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise((r) => server.close(r)));

  it.each([
    ['/healthy', true],
    ['/moved', true],
    ['/broken', false],
  ])('httpGet %s succeeds: %p', async (path, want) => expect(await httpCheck('127.0.0.1', port, path)(1000)).toBe(want));

  it('tcpSocket succeeds on an open port and fails on a closed one', async () => {
    expect(await tcpCheck('127.0.0.1', port)(1000)).toBe(true);
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    expect(await tcpCheck('127.0.0.1', closedPort)(1000)).toBe(false);
  });
});
