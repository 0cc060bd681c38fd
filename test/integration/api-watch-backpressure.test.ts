/**
 * A watcher that reads slower than events arrive: the server waits for the stream to drain instead of buffering
 * without bound, loses no event, and leaves no listener behind per wait (they piled up on a long watch and set off
 * node's MaxListenersExceededWarning).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { ApiClient, loadKubeconfig, RESOURCES } from '../../client';
import { spawnApiServer, type ApiServerProcess } from '../helpers/apiserver';

const NS = 'default';
const EVENTS = 40;
/** Each event larger than a response's write buffer (16 KiB), so that every write waits for a drain. */
const annotation = 'x'.repeat(40 * 1024);

/** A sink that holds every write until released, then takes the rest at once. */
function gatedSink(): { sink: Writable; text: () => string; release: () => void } {
  const chunks: Buffer[] = [];
  const held: (() => void)[] = [];
  let open = false;
  const sink = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      if (open) done();
      else held.push(done);
    },
  });
  return {
    sink,
    text: () => Buffer.concat(chunks).toString(),
    release: () => {
      open = true;
      for (const done of held.splice(0)) done();
    },
  };
}

describe('watch backpressure', () => {
  // Its own process, so that node's warnings are its output (jest's sandbox does not see the server's).
  let server: ApiServerProcess;
  let client: ApiClient;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'berth-api-slow-watch-'));

  beforeAll(async () => {
    server = await spawnApiServer(home);
    client = new ApiClient(loadKubeconfig(server.kubeconfigPath));
  });
  afterAll(async () => {
    client?.close();
    await server?.kill();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('delivers every event to a slow reader and keeps no listener per wait', async () => {
    const { sink, text, release } = gatedSink();
    const streamed = client.stream('GET', `/apis/berth.dev/v1/namespaces/${NS}/containers?watch=1&timeoutSeconds=4`, {}, sink);
    for (let i = 0; i < EVENTS; i++) {
      await client.create(RESOURCES.containers, { metadata: { name: `slow-${i}`, namespace: NS, annotations: { big: annotation } }, spec: { image: 'busybox' } });
    }
    release();
    await streamed;
    const names = text()
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { object: { metadata: { name: string } } }).object.metadata.name);
    expect(names).toEqual(Array.from({ length: EVENTS }, (_, i) => `slow-${i}`));
    expect(server.output()).not.toMatch(/MaxListenersExceededWarning/);
  });
});
