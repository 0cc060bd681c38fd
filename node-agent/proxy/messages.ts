/** What the agent's thread and the proxy thread tell each other (structured-clone messages, in order). */
import type { Endpoint } from './balancer';
import type { ServiceProxyOptions } from './listener';

export type ToProxyThread =
  | { readonly type: 'create'; readonly proxy: number; readonly options: ServiceProxyOptions }
  | { readonly type: 'listen'; readonly proxy: number }
  | { readonly type: 'endpoints'; readonly proxy: number; readonly version: number; readonly endpoints: readonly Endpoint[] }
  | { readonly type: 'close'; readonly proxy: number }
  | { readonly type: 'sync'; readonly proxy: number; readonly seq: number };

/** A request outcome: revision group, ok, latency in ms (NaN when not timed). */
export type Outcome = readonly [string, boolean, number];

export type FromProxyThread =
  | { readonly type: 'listening'; readonly proxy: number; readonly port: number }
  | { readonly type: 'listenFailed'; readonly proxy: number; readonly message: string }
  | {
      readonly type: 'report';
      readonly proxy: number;
      /** The last endpoints version applied. */
      readonly version: number;
      /** Open connections per endpoint id (ids with none left out), as of `version` or later. */
      readonly open: ReadonlyArray<readonly [string, number]>;
      readonly outcomes: readonly Outcome[];
    }
  | { readonly type: 'closed'; readonly proxy: number }
  | { readonly type: 'synced'; readonly proxy: number; readonly seq: number };
