/**
 * The apimachinery definitions every OpenAPI document references (ObjectMeta, ListMeta, Status, DeleteOptions, Patch,
 * WatchEvent, autoscaling/v1 Scale), named as Kubernetes names them so clients that key on those names find them.
 */
import { arr, bool, int32, int64, obj, str } from './kinds/dsl';
import { managedFieldsEntrySchema, objectMetaSchema, ownerReferenceSchema } from './object-meta';
import type { JSONSchemaProps } from './types';

export const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
export const SCALE_DEFINITION = 'io.k8s.api.autoscaling.v1.Scale';
export const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';

/** `ref(name)` gives the reference string of a definition in the document being built (v2 or v3 location). */
export type RefOf = (name: string) => string;

export function metaDefinitions(ref: RefOf): Record<string, JSONSchemaProps> {
  const r = (name: string, description?: string): JSONSchemaProps => ({ $ref: ref(name), ...(description ? { description } : {}) }) as JSONSchemaProps;
  const statusCause = obj('StatusCause provides more information about an api.Status failure, including cases when multiple errors are encountered.', {
    field: str('The field of the resource that has caused this error, as named by its JSON serialization.'),
    message: str('A human-readable description of the cause of the error.'),
    reason: str('A machine-readable description of the cause of the error.'),
  });
  return {
    [`${META}.ObjectMeta`]: {
      ...objectMetaSchema,
      properties: {
        ...objectMetaSchema.properties,
        ownerReferences: arr(objectMetaSchema.properties!.ownerReferences.description!, r(`${META}.OwnerReference`)),
        managedFields: arr(objectMetaSchema.properties!.managedFields.description!, r(`${META}.ManagedFieldsEntry`)),
      },
    },
    [`${META}.OwnerReference`]: ownerReferenceSchema,
    [`${META}.ManagedFieldsEntry`]: managedFieldsEntrySchema,
    [`${META}.ListMeta`]: obj('ListMeta describes metadata that synthetic resources must have, including lists and various status objects.', {
      resourceVersion: str('String that identifies the server\'s internal version of this object that can be used by clients to determine when objects have changed.'),
      continue: str('continue may be set if the user set a limit on the number of items returned, and indicates that the server has more data available.'),
      remainingItemCount: int64('remainingItemCount is the number of subsequent items in the list which are not included in this list response.'),
      selfLink: str('Deprecated: selfLink is a legacy read-only field that is no longer populated by the system.'),
    }),
    [`${META}.Status`]: {
      ...obj('Status is a return value for calls that don\'t return other objects.', {
        apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
        kind: str('Kind is a string value representing the REST resource this object represents.'),
        metadata: r(`${META}.ListMeta`, 'Standard list metadata.'),
        status: str('Status of the operation. One of: "Success" or "Failure".'),
        message: str('A human-readable description of the status of this operation.'),
        reason: str('A machine-readable description of why this operation is in the "Failure" status.'),
        details: r(`${META}.StatusDetails`, 'Extended data associated with the reason.'),
        code: int32('Suggested HTTP return code for this status, 0 if not set.'),
      }),
      'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Status' }],
    },
    [`${META}.StatusDetails`]: obj('StatusDetails is a set of additional properties that MAY be set by the server to provide additional information about a response.', {
      name: str('The name attribute of the resource associated with the status StatusReason (when there is a single name which can be described).'),
      group: str('The group attribute of the resource associated with the status StatusReason.'),
      kind: str('The kind attribute of the resource associated with the status StatusReason.'),
      uid: str('UID of the resource. (when there is a single resource which can be described).'),
      causes: arr('The Causes array includes more details associated with the StatusReason failure.', r(`${META}.StatusCause`)),
      retryAfterSeconds: int32('If specified, the time in seconds before the operation should be retried.'),
    }),
    [`${META}.StatusCause`]: statusCause,
    [`${META}.Preconditions`]: obj('Preconditions must be fulfilled before an operation (update, delete, etc.) is carried out.', {
      resourceVersion: str('Specifies the target ResourceVersion'),
      uid: str('Specifies the target UID.'),
    }),
    [`${META}.DeleteOptions`]: obj('DeleteOptions may be provided when deleting an API object.', {
      apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
      kind: str('Kind is a string value representing the REST resource this object represents.'),
      dryRun: arr('When present, indicates that modifications should not be persisted. Valid value: All', { type: 'string' }),
      gracePeriodSeconds: int64('The duration in seconds before the object should be deleted.'),
      preconditions: r(`${META}.Preconditions`, 'Must be fulfilled before a deletion is carried out.'),
      propagationPolicy: str('Whether and how garbage collection will be performed. Acceptable values are: \'Orphan\', \'Background\', \'Foreground\'.'),
      orphanDependents: bool('Deprecated: please use the PropagationPolicy.'),
    }),
    [`${META}.Patch`]: { type: 'object', description: 'Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.' },
    [`${META}.WatchEvent`]: obj(
      'Event represents a single event to a watched resource.',
      {
        type: str('One of ADDED, MODIFIED, DELETED, BOOKMARK, ERROR.'),
        object: { type: 'object', description: 'Object is the object the event is about.', 'x-kubernetes-preserve-unknown-fields': true },
      },
      { required: ['type', 'object'] },
    ),
    [SCALE_DEFINITION]: {
      ...obj('Scale represents a scaling request for a resource.', {
        apiVersion: str('APIVersion defines the versioned schema of this representation of an object.'),
        kind: str('Kind is a string value representing the REST resource this object represents.'),
        metadata: r(`${META}.ObjectMeta`, 'Standard object metadata.'),
        spec: obj('ScaleSpec describes the attributes of a scale subresource.', { replicas: int32('replicas is the desired number of instances for the scaled object.') }),
        status: obj(
          'ScaleStatus represents the current status of a scale subresource.',
          {
            replicas: int32('replicas is the actual number of observed instances of the scaled object.'),
            selector: str('selector is the label query over pods that should match the replicas count, as a label selector string.'),
          },
          { required: ['replicas'] },
        ),
      }),
      'x-kubernetes-group-version-kind': [{ group: 'autoscaling', version: 'v1', kind: 'Scale' }],
    },
    [INT_OR_STRING]: { description: 'IntOrString is a type that can hold an int32 or a string.', format: 'int-or-string' },
  };
}
