/**
 * The two resources that are not CRDs: core v1 Namespace (so `-n`, `kubectl create namespace` and namespace deletion
 * work) and apiextensions.k8s.io/v1 CustomResourceDefinition (so operators can add kinds). Hand-written schemas.
 */
import { conditionsSchema } from './kinds/dsl';
import type { JSONSchemaProps, ResourceInfo } from './types';

export const namespaceInfo: ResourceInfo = {
  group: '',
  version: 'v1',
  apiVersion: 'v1',
  kind: 'Namespace',
  listKind: 'NamespaceList',
  plural: 'namespaces',
  singular: 'namespace',
  shortNames: ['ns'],
  categories: [],
  namespaced: false,
  subresources: { status: true },
  printerColumns: [
    { name: 'Status', type: 'string', jsonPath: '.status.phase', description: 'The phase of the namespace' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
  storageVersion: 'v1',
  builtIn: true,
};

export const namespaceSchema: JSONSchemaProps = {
  type: 'object',
  description: 'Namespace provides a scope for Names. Use of multiple namespaces is optional.',
  properties: {
    spec: {
      type: 'object',
      description: 'Spec defines the behavior of the Namespace.',
      properties: {
        finalizers: {
          type: 'array',
          description: 'Finalizers is an opaque list of values that must be empty to permanently remove object from storage.',
          items: { type: 'string' },
        },
      },
    },
    status: {
      type: 'object',
      description: 'Status describes the current status of a Namespace.',
      properties: {
        phase: {
          type: 'string',
          description: 'Phase is the current lifecycle phase of the namespace.',
          enum: ['Active', 'Terminating'],
        },
        conditions: conditionsSchema('Represents the latest available observations of a namespace\'s current state.'),
      },
    },
  },
};

export const crdInfo: ResourceInfo = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  listKind: 'CustomResourceDefinitionList',
  plural: 'customresourcedefinitions',
  singular: 'customresourcedefinition',
  shortNames: ['crd', 'crds'],
  categories: ['api-extensions'],
  namespaced: false,
  subresources: { status: true },
  printerColumns: [{ name: 'Created At', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
  storageVersion: 'v1',
  builtIn: true,
};

const str = (description: string): JSONSchemaProps => ({ type: 'string', description });
const strings = (description: string): JSONSchemaProps => ({ type: 'array', description, items: { type: 'string' } });

const namesSchema: JSONSchemaProps = {
  type: 'object',
  description: 'CustomResourceDefinitionNames indicates the names to serve this CustomResourceDefinition',
  required: ['plural', 'kind'],
  properties: {
    plural: str('plural is the plural name of the resource to serve. Must be all lowercase.'),
    singular: str('singular is the singular name of the resource. It must be all lowercase. Defaults to lowercased `kind`.'),
    kind: str('kind is the serialized kind of the resource. It is normally CamelCase and singular.'),
    listKind: str('listKind is the serialized kind of the list for this resource. Defaults to "`kind`List".'),
    shortNames: strings('shortNames are short names for the resource, exposed in API discovery documents.'),
    categories: strings('categories is a list of grouped resources this custom resource belongs to (e.g. \'all\').'),
  },
};

export const crdSchema: JSONSchemaProps = {
  type: 'object',
  description: 'CustomResourceDefinition represents a resource that should be exposed on the API server. Its name MUST be in the format <.spec.name>.<.spec.group>.',
  required: ['spec'],
  properties: {
    spec: {
      type: 'object',
      description: 'spec describes how the user wants the resources to appear',
      required: ['group', 'names', 'scope', 'versions'],
      properties: {
        group: str('group is the API group of the defined custom resource. Must match the name of the CustomResourceDefinition (in the form `<names.plural>.<group>`).'),
        names: namesSchema,
        scope: { type: 'string', description: 'scope indicates whether the defined custom resource is cluster- or namespace-scoped.', enum: ['Cluster', 'Namespaced'] },
        preserveUnknownFields: { type: 'boolean', description: 'preserveUnknownFields indicates that object fields which are not specified in the OpenAPI schema should be preserved when persisting to storage. Must be false.' },
        conversion: {
          type: 'object',
          description: 'conversion defines conversion settings for the CRD. Only strategy None is supported.',
          properties: { strategy: { type: 'string', description: 'strategy specifies how custom resources are converted between versions.', enum: ['None'] } },
          'x-kubernetes-preserve-unknown-fields': true,
        },
        versions: {
          type: 'array',
          description: 'versions is the list of all API versions of the defined custom resource. Exactly one version must be the storage version.',
          items: {
            type: 'object',
            description: 'CustomResourceDefinitionVersion describes a version for CRD.',
            required: ['name', 'served', 'storage'],
            properties: {
              name: str('name is the version name, e.g. “v1”, “v2beta1”, etc.'),
              served: { type: 'boolean', description: 'served is a flag enabling/disabling this version from being served via REST APIs' },
              storage: { type: 'boolean', description: 'storage indicates this version should be used when persisting custom resources to storage. There must be exactly one version with storage=true.' },
              deprecated: { type: 'boolean', description: 'deprecated indicates this version of the custom resource API is deprecated.' },
              deprecationWarning: str('deprecationWarning overrides the default warning returned to API clients.'),
              schema: {
                type: 'object',
                description: 'schema describes the schema used for validation, pruning, and defaulting of this version of the custom resource.',
                properties: {
                  openAPIV3Schema: {
                    type: 'object',
                    description: 'openAPIV3Schema is the OpenAPI v3 schema to use for validation and pruning.',
                    'x-kubernetes-preserve-unknown-fields': true,
                  },
                },
              },
              subresources: {
                type: 'object',
                description: 'subresources specify what subresources this version of the defined custom resource have.',
                properties: {
                  status: { type: 'object', description: 'status indicates the custom resource should serve a `/status` subresource.', 'x-kubernetes-preserve-unknown-fields': true },
                  scale: {
                    type: 'object',
                    description: 'scale indicates the custom resource should serve a `/scale` subresource that returns an `autoscaling/v1` Scale object.',
                    required: ['specReplicasPath', 'statusReplicasPath'],
                    properties: {
                      specReplicasPath: str('specReplicasPath defines the JSON path inside of a custom resource that corresponds to Scale `spec.replicas`.'),
                      statusReplicasPath: str('statusReplicasPath defines the JSON path inside of a custom resource that corresponds to Scale `status.replicas`.'),
                      labelSelectorPath: str('labelSelectorPath defines the JSON path inside of a custom resource that corresponds to Scale `status.selector`.'),
                    },
                  },
                },
              },
              additionalPrinterColumns: {
                type: 'array',
                description: 'additionalPrinterColumns specifies additional columns returned in Table output.',
                items: {
                  type: 'object',
                  required: ['name', 'type', 'jsonPath'],
                  properties: {
                    name: str('name is a human readable name for the column.'),
                    type: str('type is an OpenAPI type definition for this column.'),
                    format: str('format is an optional OpenAPI type definition for this column.'),
                    description: str('description is a human readable description of this column.'),
                    priority: { type: 'integer', format: 'int32', description: 'priority is an integer defining the relative importance of this column compared to others.' },
                    jsonPath: str('jsonPath is a simple JSON path (i.e. with array notation) which is evaluated against each custom resource to produce the value for this column.'),
                  },
                },
              },
            },
          },
        },
      },
    },
    status: {
      type: 'object',
      description: 'status indicates the actual state of the CustomResourceDefinition',
      properties: {
        conditions: conditionsSchema('conditions indicate state for particular aspects of a CustomResourceDefinition'),
        acceptedNames: { ...namesSchema, description: 'acceptedNames are the names that are actually being used to serve discovery.' },
        storedVersions: strings('storedVersions lists all versions of CustomResources that were ever persisted.'),
      },
    },
  },
};
