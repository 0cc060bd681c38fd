/** How a built-in kind is described before it becomes a CustomResourceDefinition (see crds.ts). */
import type { JSONSchemaProps, PrinterColumn, ScaleSubresource } from '../types';

export interface KindDefinition {
  readonly kind: string;
  readonly plural: string;
  readonly shortNames?: readonly string[];
  readonly categories?: readonly string[];
  readonly scope: 'Namespaced' | 'Cluster';
  /** What `kubectl explain <kind>` prints first. */
  readonly description: string;
  /** Top-level fields besides apiVersion/kind/metadata (spec and status, or data for Secret). */
  readonly properties: Record<string, JSONSchemaProps>;
  readonly required?: readonly string[];
  /** Serve `/status` (spec and status are then written separately). */
  readonly statusSubresource: boolean;
  readonly scale?: ScaleSubresource;
  readonly printerColumns: readonly PrinterColumn[];
}

export const AGE_COLUMN: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };
