/**
 * api/schema — what kinds exist, what their objects may look like, and how clients discover them.
 *
 * For the API-server engineer (how to wire this in):
 *
 *   const schemas = SchemaRegistry.withBuiltins();          // manifests/crds/*.yaml + core v1 Namespace + apiextensions CRD
 *   for (const crd of storedCrds) schemas.addCrd(crd);      // user CRDs already in storage, same code path
 *   app.use(discoveryRouter(schemas));                      // GET /api, /api/v1, /apis, /apis/<g>, /apis/<g>/<v>,
 *                                                           //     /openapi/v2, /openapi/v3, /openapi/v3/<api|apis>/...
 *                                                           // (mount it before the resource routes; it only answers
 *                                                           //  those exact GET paths and calls next() for the rest)
 *
 *   // routing: /apis/<group>/<version>/[namespaces/<ns>/]<plural>[/<name>[/<subresource>]]
 *   const info = schemas.resolve(group, version, plural);   // undefined → 404
 *
 *   // create/update/patch/apply body (after decoding, before storage):
 *   const { object, errors, unknownFields } = schemas.admit(info, body, fieldValidation);
 *   //   in this order, as kube-apiserver does (unknown fields are found while decoding, before validation):
 *   //   unknownFields, Strict     → 400 BadRequest, message = strictDecodingMessage(unknownFields)
 *   //   errors non-empty          → 422 Invalid: Status.details.causes = errors (FieldError is a StatusCause),
 *   //                               message = invalidMessage(info, name, errors)
 *   //   unknownFields, Warn       → `Warning: 299 - "unknown field \"spec.foo\""` header per field (unknownFieldWarnings)
 *   //   `object` is a pruned, defaulted copy: store that one.
 *
 *   // Built-in berth.dev kinds also get cross-field checks (kinds/rules.ts: selector vs template labels, probe
 *   // handlers, duplicate ports, Secret keys, ...) and a Service without selector gets its template labels.
 *
 *   // CRD objects (apiextensions.k8s.io/v1 customresourcedefinitions): admit() validates them like any object,
 *   // and additionally: before storing a create/update call  schemas.validateCrd(crd)  (FieldError[] → 422),
 *   // after storing call schemas.addCrd(crd); after the delete is final call schemas.removeCrd(name).
 *   // crdStatus(crd) gives the `status` to store (Established/NamesAccepted conditions, acceptedNames, storedVersions).
 *   // Built-in kinds' CRDs (isBuiltInCrd(name)) accept only unchanged re-applies, and removeCrd() keeps them served.
 *   // Multi-version CRDs serve one ResourceInfo per served version; objects are stored in `storageVersion`
 *   // (conversion strategy None: only apiVersion changes between versions).
 *
 *   schemas.onChange(() => ...)  // fires after addCrd/removeCrd; discoveryRouter already refreshes its caches itself.
 *
 *   // Tables (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, used by `kubectl get`):
 *   buildTable(info, objects, { includeObject, listMeta })  → a meta.k8s.io/v1 Table from the printer columns;
 *   // pass listMeta {resourceVersion, continue, remainingItemCount}: kubectl pages with limit=500 and follows `continue`.
 *
 * The built-in kinds are defined in kinds/*.ts and rendered to manifests/crds/*.yaml
 * (`node dist/api/schema/kinds/crds.js` after a build; test/unit/schema/crd-manifests.test.ts fails while stale).
 */
export { SchemaRegistry, BUILTIN_CRD_DIR } from './registry';
export { SchemaInvalidError, fieldErrorText, invalidMessage, strictDecodingMessage, unknownFieldWarnings } from './errors';
export { discoveryRouter } from './router';
export {
  apiVersions,
  coreResourceList,
  apiGroupList,
  apiGroup,
  apiResourceList,
  aggregatedDiscovery,
} from './discovery';
export { openApiV2, openApiV3Index, openApiV3Document } from './openapi';
export { buildTable } from './table';
export type {
  ResourceInfo,
  Subresources,
  ScaleSubresource,
  PrinterColumn,
  FieldError,
  FieldErrorReason,
  FieldValidation,
  ValidationResult,
  CustomResourceDefinition,
  JSONSchemaProps,
  RegistryChange,
  ChangeListener,
} from './types';
export type { AdmitResult } from './registry';
