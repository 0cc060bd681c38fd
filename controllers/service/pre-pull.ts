import { createHash } from 'node:crypto';
import type { BerthNode, Image, KubeObject, Service } from '../../client';
import { isConditionTrue } from '../runtime';

/**
 * Pre-pull: before a rollout starts any container of a new revision, the revision's image is made present (pulled
 * and unpacked) on every Ready, schedulable node, so pull time is not counted against the rollout's clock. The
 * service controller does not pull anything itself: it names the image in an Image object, which every node agent's
 * Image controller makes present in its store and then lists itself in `status.nodes` (ADR 0004). An Image the
 * namespace already has for the reference (by name, as a Container may name one, or by `spec.ref`) serves as is.
 */

/** Label on the Image objects the service controller creates for pre-pulls: the Service's name. */
export const PRE_PULL_LABEL = 'berth.dev/pre-pull-for';

/** Name of the Image a Service creates to pre-pull `ref`: one per Service and reference. */
export function prePullImageName(service: string, ref: string): string {
  return `${service}-pull-${createHash('sha256').update(ref).digest('hex').slice(0, 10)}`;
}

/** The Image object the Service creates to pre-pull `ref` (pullPolicy IfNotPresent: what a node holds is kept). */
export function prePullImage(svc: Service, ref: string): KubeObject {
  return {
    metadata: {
      name: prePullImageName(svc.metadata.name!, ref),
      namespace: svc.metadata.namespace,
      labels: { [PRE_PULL_LABEL]: svc.metadata.name! },
      ownerReferences: [{ apiVersion: 'berth.dev/v1', kind: 'Service', name: svc.metadata.name!, uid: svc.metadata.uid! }],
    },
    spec: { ref, pullPolicy: 'IfNotPresent' },
  };
}

/** Whether the Image is (in) the pre-pull of `ref`: named `ref` (a Container may name an Image object) or pulling it. */
export function servesRef(image: Image, ref: string): boolean {
  return image.metadata.name === ref || image.spec?.ref === ref;
}

/** The nodes a new container may land on: Ready and schedulable. */
export function targetNodes(nodes: readonly BerthNode[]): string[] {
  return nodes.filter((n) => isConditionTrue(n.status?.conditions, 'Ready') && n.spec?.unschedulable !== true).map((n) => n.metadata.name!).sort();
}

/** How `status.rollout.message` starts while a pre-pull holds the rollout. */
const PRE_PULLING = 'pre-pulling ';

/** Whether a rollout message says a pre-pull is holding the rollout. */
export const isPrePullMessage = (message: string | undefined): boolean => message?.startsWith(PRE_PULLING) === true;

export type PrePullState = { readonly done: true; readonly message?: string; readonly failed?: boolean } | { readonly done: false; readonly message: string };

/**
 * How far the pre-pull of `ref` through `image` has come on `nodes`: done once every node holds it. A failed pull is
 * done too (with a message saying so): the containers then pull for themselves and the rollout's failure handling
 * judges them, rather than waiting here forever.
 */
export function prePullState(ref: string, image: Image | undefined, nodes: readonly string[]): PrePullState {
  if (nodes.length === 0) return { done: true };
  const status = (image?.status ?? {}) as { phase?: string; message?: string; digest?: string; nodes?: string[] };
  const holding = status.digest ? nodes.filter((n) => status.nodes?.includes(n)) : [];
  if (holding.length === nodes.length) return { done: true, message: `pre-pulled ${ref} on ${nodes.length} node(s)` };
  if (status.phase === 'Failed') return { done: true, failed: true, message: `pre-pull of ${ref} failed (${status.message ?? 'no reason given'}): the containers pull it themselves` };
  const waiting = nodes.filter((n) => !holding.includes(n));
  return { done: false, message: `${PRE_PULLING}${ref}: ${holding.length} of ${nodes.length} node(s) hold it, waiting for ${waiting.join(', ')}` };
}
