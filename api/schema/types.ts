/**
 * The shapes the schema module hands to the rest of the API server.
 * A `ResourceInfo` is everything the REST layer needs to know about one served resource (one group/version/plural).
 */

/** A JSON Schema node as it appears in a CRD's `openAPIV3Schema` (JSONSchemaProps). */
export interface JSONSchemaProps {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  items?: JSONSchemaProps;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  uniqueItems?: boolean;
  nullable?: boolean;
  oneOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  allOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
  [extension: `x-${string}`]: unknown;
}

/** One `additionalPrinterColumns` entry of a CRD version. */
export interface PrinterColumn {
  readonly name: string;
  readonly type: 'integer' | 'number' | 'string' | 'boolean' | 'date';
  readonly jsonPath: string;
  readonly description?: string;
  readonly format?: string;
  readonly priority?: number;
}

export interface ScaleSubresource {
  /** JSON path (`.spec.replicas`) of the desired replica count in the object. */
  readonly specReplicasPath: string;
  /** JSON path (`.status.replicas`) of the observed replica count. */
  readonly statusReplicasPath: string;
  /** JSON path (`.status.selector`) of the label selector string served in Scale.status.selector, if any. */
  readonly labelSelectorPath?: string;
}

export interface Subresources {
  /** `/status` is served; main-resource writes ignore `.status`, `/status` writes ignore everything but `.status`. */
  readonly status: boolean;
  readonly scale?: ScaleSubresource;
}

/** Everything the REST layer needs to serve one resource of one version. */
export interface ResourceInfo {
  /** '' for the core group (Namespace). */
  readonly group: string;
  readonly version: string;
  /** `group/version`, or just `version` for the core group. */
  readonly apiVersion: string;
  readonly kind: string;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly categories: readonly string[];
  readonly namespaced: boolean;
  readonly subresources: Subresources;
  readonly printerColumns: readonly PrinterColumn[];
  /** The version objects are stored in (CRDs have exactly one); equals `version` for single-version kinds. */
  readonly storageVersion: string;
  /** The CRD this resource comes from (`containers.berth.dev`), or undefined for hand-written built-ins (Namespace, CRD). */
  readonly crdName?: string;
  /** True for kinds defined in manifests/crds or hand-written; false for CRDs created through the API. */
  readonly builtIn: boolean;
}

/** Kubernetes `field.ErrorType` reasons, as they appear in `Status.details.causes[].reason`. */
export type FieldErrorReason =
  | 'FieldValueInvalid'
  | 'FieldValueRequired'
  | 'FieldValueNotSupported'
  | 'FieldValueTypeInvalid'
  | 'FieldValueDuplicate'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'FieldValueNotFound';

/** One validation failure; maps 1:1 to a `StatusCause` ({reason, message, field}). */
export interface FieldError {
  /** Kubernetes field path: `spec.ports[0].containerPort`, `metadata.labels[app]`. */
  readonly field: string;
  readonly reason: FieldErrorReason;
  /** Kubernetes-style message *without* the field (as in StatusCause), e.g. `Required value`; see fieldErrorText(). */
  readonly message: string;
}

/** `?fieldValidation=` as Kubernetes defines it; the server default is Strict for API writes. */
export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface ValidationResult {
  /** Schema and metadata violations; non-empty means 422 Invalid. */
  readonly errors: FieldError[];
  /**
   * Paths of fields the schema does not know (they are pruned before storage).
   * Reported regardless of fieldValidation; the caller decides: Strict → 400, Warn → `Warning` headers, Ignore → nothing.
   */
  readonly unknownFields: string[];
}

/** A `CustomResourceDefinition` object, as posted (loosely typed: it is validated before use). */
export interface CustomResourceDefinition {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; [k: string]: unknown };
  spec: {
    group: string;
    names: {
      kind: string;
      plural: string;
      singular?: string;
      listKind?: string;
      shortNames?: string[];
      categories?: string[];
    };
    scope: 'Namespaced' | 'Cluster';
    versions: Array<{
      name: string;
      served: boolean;
      storage: boolean;
      deprecated?: boolean;
      schema?: { openAPIV3Schema?: JSONSchemaProps };
      subresources?: {
        status?: Record<string, never>;
        scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
      };
      additionalPrinterColumns?: PrinterColumn[];
    }>;
    preserveUnknownFields?: boolean;
    conversion?: { strategy: string };
  };
  status?: unknown;
}

/** What changed in the registry; listeners rebuild discovery/OpenAPI caches. */
export interface RegistryChange {
  readonly type: 'added' | 'removed';
  readonly resources: readonly ResourceInfo[];
}

export type ChangeListener = (change: RegistryChange) => void;
