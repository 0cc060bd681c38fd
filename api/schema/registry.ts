/**
 * SchemaRegistry: the set of served resources and their schemas. Built-in kinds (manifests/crds) and CRDs created
 * through the API go through the same addCrd() path; Namespace and CustomResourceDefinition are hand-written.
 */
import type Ajv from 'ajv';
import { crdInfo, crdSchema, namespaceInfo, namespaceSchema } from './builtins';
import { compareKubeVersions, defaultCrd, validateCrdObject } from './crd-validation';
import { SchemaInvalidError, fieldErrorText, fieldErrors } from './errors';
import { BERTH_GROUP } from './kinds/crds';
import { semanticDefaults, semanticRules } from './kinds/rules';
import { TooDeepError, cloneJson } from './json';
import { listTypeErrors } from './list-types';
import { findBuiltinCrdDir, readManifestDir } from './load';
import { dropEmptyMetaStrings, nameRules, validateObjectMeta } from './object-meta';
import { applyDefaults, prune, pruneAndDefault } from './structural';
import type {
  ChangeListener,
  CustomResourceDefinition,
  FieldError,
  FieldValidation,
  JSONSchemaProps,
  PrinterColumn,
  ResourceInfo,
  ValidationResult,
} from './types';
import { type CompiledValidator, compileValidator, newAjv } from './validator';
import { redactSecretValues } from './redact';

/** Where the built-in kinds' CRDs live (manifests/crds of this checkout). */
export const BUILTIN_CRD_DIR = findBuiltinCrdDir();

/** Groups a user CRD may not define kinds in. */
const RESERVED_GROUPS = new Set(['', 'apiextensions.k8s.io', 'meta.k8s.io', 'autoscaling', 'apidiscovery.k8s.io']);

export interface AdmitResult {
  /** The object to store: a deep copy, pruned of unknown fields and with schema defaults applied. */
  readonly object: Record<string, unknown>;
  readonly errors: FieldError[];
  /** Pruned fields (always reported when fieldValidation is Strict or Warn; empty under Ignore). */
  readonly unknownFields: string[];
}

interface Served {
  readonly info: ResourceInfo;
  readonly schema: JSONSchemaProps;
  validator?: CompiledValidator;
}

interface CrdEntry {
  readonly crd: CustomResourceDefinition;
  readonly resources: ResourceInfo[];
  readonly builtIn: boolean;
}

const resourceKey = (group: string, version: string, plural: string): string => `${group}/${version}/${plural}`;
const kindKey = (apiVersion: string, kind: string): string => `${apiVersion}/${kind}`;

export class SchemaRegistry {
  private readonly byResource = new Map<string, Served>();
  private readonly byKind = new Map<string, Served>();
  private readonly crds = new Map<string, CrdEntry>();
  private readonly listeners = new Set<ChangeListener>();
  private readonly ajv: Ajv = newAjv();

  /** Namespace and CustomResourceDefinition only; add kinds with addCrd() or loadDirectory(). */
  constructor() {
    this.register(namespaceInfo, namespaceSchema);
    this.register(crdInfo, crdSchema);
  }

  /** A registry serving every built-in kind: the hand-written two plus each CRD in `dir` (default manifests/crds). */
  static withBuiltins(dir: string = BUILTIN_CRD_DIR): SchemaRegistry {
    const registry = new SchemaRegistry();
    registry.loadDirectory(dir, true);
    return registry;
  }

  /** Adds every CustomResourceDefinition document in `dir`'s YAML files (other kinds are skipped). */
  loadDirectory(dir: string, builtIn = false): ResourceInfo[] {
    const added: ResourceInfo[] = [];
    for (const { file, doc } of readManifestDir(dir)) {
      if ((doc as { kind?: string }).kind !== 'CustomResourceDefinition') continue;
      try {
        added.push(...this.addCrd(doc, builtIn));
      } catch (cause) {
        throw new Error(`loading ${file}: ${(cause as Error).message}`, { cause });
      }
    }
    return added;
  }

  /**
   * Everything that makes `crd` unservable (empty = fine): its own validity (names, versions, structural schemas)
   * and conflicts with other served kinds. An update of an existing CRD (same metadata.name) may keep its names.
   */
  validateCrd(crd: unknown): FieldError[] {
    const errors = validateCrdObject(crd);
    if (errors.length > 0) return errors;
    const c = crd as CustomResourceDefinition;
    const name = String(c.metadata.name);
    if (RESERVED_GROUPS.has(c.spec.group)) {
      return [fieldErrors.invalid('spec.group', c.spec.group, 'is reserved for resources built into the API server')];
    }
    const existing = this.crds.get(name);
    if (existing?.builtIn && canonicalSpec(existing.crd) !== canonicalSpec(c)) {
      return [fieldErrors.forbidden('spec', `${name} defines a built-in kind; its definition comes from manifests/crds and cannot be changed through the API`)];
    }
    return namesConflicts(c, [...this.byResource.values()].map((s) => s.info).filter((i) => i.crdName !== name && i.group === c.spec.group));
  }

  /**
   * Serves the CRD's versions (replacing an earlier definition of the same name) and notifies listeners.
   * Throws SchemaInvalidError (→ 422) with every problem if the CRD cannot be served.
   */
  addCrd(crd: unknown, builtIn = false): ResourceInfo[] {
    const errors = this.validateCrd(crd);
    const name = (crd as { metadata?: { name?: unknown } })?.metadata?.name;
    if (errors.length > 0) {
      throw new SchemaInvalidError(`CustomResourceDefinition ${JSON.stringify(name ?? '')} is invalid: ${errors.map(fieldErrorText).join(', ')}`, errors);
    }
    const c = structuredClone(crd) as CustomResourceDefinition;
    const crdName = String(c.metadata.name);
    const replaced = this.crds.get(crdName);
    if (replaced) this.unregisterCrd(crdName);
    // Re-applying a built-in kind's CRD (kubectl apply -f manifests/crds) keeps it built-in.
    const isBuiltIn = builtIn || replaced?.builtIn === true;
    const resources = crdResources(c, crdName, isBuiltIn);
    resources.forEach((info) => {
      const version = c.spec.versions.find((v) => v.name === info.version)!;
      this.register(info, version.schema!.openAPIV3Schema!);
    });
    this.crds.set(crdName, { crd: c, resources, builtIn: isBuiltIn });
    this.emit({ type: 'added', resources });
    return resources;
  }

  /**
   * Stops serving the CRD's kinds (stored objects are the caller's business). False if it was not served, or if it is
   * a built-in kind's (those stay served even if a stored copy of their CRD is deleted).
   */
  removeCrd(name: string): boolean {
    const entry = this.crds.get(name);
    if (!entry || entry.builtIn) return false;
    this.unregisterCrd(name);
    this.emit({ type: 'removed', resources: entry.resources });
    return true;
  }

  /** True for the CRDs of Berth's own kinds (manifests/crds); the API should refuse to delete those. */
  isBuiltInCrd(name: string): boolean {
    return this.crds.get(name)?.builtIn === true;
  }

  getCrd(name: string): CustomResourceDefinition | undefined {
    const entry = this.crds.get(name);
    return entry ? structuredClone(entry.crd) : undefined;
  }

  /** The `status` Kubernetes reports for a served CRD: NamesAccepted and Established conditions, acceptedNames, storedVersions. */
  crdStatus(crd: CustomResourceDefinition, now: Date = new Date()): Record<string, unknown> {
    const at = now.toISOString().replace(/\.\d+Z$/, 'Z');
    const names = crd.spec.names;
    const condition = (type: string, reason: string, message: string) => ({ type, status: 'True', lastTransitionTime: at, reason, message });
    return {
      conditions: [
        condition('NamesAccepted', 'NoConflicts', 'no conflicts found'),
        condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted'),
      ],
      acceptedNames: {
        plural: names.plural,
        singular: names.singular ?? names.kind.toLowerCase(),
        kind: names.kind,
        listKind: names.listKind ?? `${names.kind}List`,
        ...(names.shortNames ? { shortNames: names.shortNames } : {}),
        ...(names.categories ? { categories: names.categories } : {}),
      },
      storedVersions: crd.spec.versions.filter((v) => v.storage).map((v) => v.name),
    };
  }

  /** The resource served at /apis/<group>/<version>/<plural> (group '' = core /api/<version>), if any. */
  resolve(group: string, version: string, plural: string): ResourceInfo | undefined {
    return this.byResource.get(resourceKey(group, version, plural))?.info;
  }

  /** The resource whose objects carry this apiVersion and kind, if any. */
  resolveKind(apiVersion: string, kind: string): ResourceInfo | undefined {
    return this.byKind.get(kindKey(apiVersion, kind))?.info;
  }

  /** Every served resource, in a stable order (group, version priority, plural). */
  resources(): ResourceInfo[] {
    return [...this.byResource.values()]
      .map((s) => s.info)
      .sort((a, b) => a.group.localeCompare(b.group) || compareKubeVersions(a.version, b.version) || a.plural.localeCompare(b.plural));
  }

  /** Served groups with their versions, preferred (highest-priority) version first. Core ('') included. */
  groups(): Array<{ name: string; versions: string[] }> {
    const byGroup = new Map<string, Set<string>>();
    for (const info of this.resources()) {
      if (!byGroup.has(info.group)) byGroup.set(info.group, new Set());
      byGroup.get(info.group)!.add(info.version);
    }
    return [...byGroup.entries()].map(([name, versions]) => ({ name, versions: [...versions].sort(compareKubeVersions) }));
  }

  /** The object schema of a served resource (CRD openAPIV3Schema or hand-written). */
  schemaOf(info: ResourceInfo): JSONSchemaProps {
    return this.served(info).schema;
  }

  /**
   * Checks `obj` (not modified) against the schema and ObjectMeta rules. `unknownFields` lists what pruning would drop;
   * it is empty under fieldValidation=Ignore. Callers normally use admit(), which also prunes and defaults.
   */
  validate(info: ResourceInfo, obj: unknown, fieldValidation: FieldValidation = 'Strict'): ValidationResult {
    const { errors, unknownFields } = this.admit(info, obj, fieldValidation);
    return { errors, unknownFields };
  }

  /** Prune → default → validate on a deep copy of `obj`, in kube-apiserver's order; store `object` if `errors` is empty. */
  admit(info: ResourceInfo, obj: unknown, fieldValidation: FieldValidation = 'Strict'): AdmitResult {
    const served = this.served(info);
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      return { object: {}, errors: [fieldErrors.typeInvalid('', obj, `${info.kind} must be a JSON object`)], unknownFields: [] };
    }
    let object: Record<string, unknown>;
    try {
      object = cloneJson(obj as Record<string, unknown>);
    } catch (err) {
      if (!(err instanceof TooDeepError)) throw err;
      return { object: {}, errors: [fieldErrors.invalid('', '<object>', `${info.kind} is ${err.message}`)], unknownFields: [] };
    }
    const pruned = pruneAndDefault(served.schema, object);
    dropEmptyMetaStrings(object.metadata);
    const ownKind = info.builtIn && info.group === BERTH_GROUP;
    if (ownKind) semanticDefaults[info.kind]?.(object);
    if (isCrdResource(info)) defaultCrd(object);
    served.validator ??= compileValidator(this.ajv, served.schema);
    const errors = served.validator(object);
    // List-type and cross-field rules rely on the types the schema guarantees, so they run only on schema-valid objects.
    if (errors.length === 0) errors.push(...listTypeErrors(served.schema, object));
    if (ownKind && errors.length === 0) errors.push(...(semanticRules[info.kind]?.(object) ?? []));
    errors.push(...validateObjectMeta(object.metadata, { namespaced: info.namespaced, nameProblems: nameProblemsFor(info) }));
    const found = ownKind && info.kind === 'Secret' ? redactSecretValues(obj as Record<string, unknown>, dedupe(errors)) : dedupe(errors);
    return { object, errors: found, unknownFields: fieldValidation === 'Ignore' ? [] : pruned };
  }

  /** Removes unknown fields from `obj` in place; returns their paths. */
  prune(info: ResourceInfo, obj: unknown): string[] {
    return prune(this.served(info).schema, obj);
  }

  /** Applies schema defaults to `obj` in place. */
  applyDefaults(info: ResourceInfo, obj: unknown): void {
    applyDefaults(this.served(info).schema, obj);
  }

  /** Calls `listener` after every addCrd/removeCrd; returns the unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private served(info: ResourceInfo): Served {
    const served = this.byResource.get(resourceKey(info.group, info.version, info.plural));
    if (!served) throw new Error(`resource ${info.plural}.${info.group}/${info.version} is not served`);
    return served;
  }

  private register(info: ResourceInfo, schema: JSONSchemaProps): void {
    const served: Served = { info, schema };
    this.byResource.set(resourceKey(info.group, info.version, info.plural), served);
    this.byKind.set(kindKey(info.apiVersion, info.kind), served);
  }

  private unregisterCrd(name: string): void {
    for (const info of this.crds.get(name)?.resources ?? []) {
      this.byResource.delete(resourceKey(info.group, info.version, info.plural));
      this.byKind.delete(kindKey(info.apiVersion, info.kind));
    }
    this.crds.delete(name);
  }

  private emit(change: Parameters<ChangeListener>[0]): void {
    for (const listener of this.listeners) listener(change);
  }
}

function crdResources(crd: CustomResourceDefinition, crdName: string, builtIn: boolean): ResourceInfo[] {
  const { group, names, scope } = crd.spec;
  const storageVersion = crd.spec.versions.find((v) => v.storage)!.name;
  return crd.spec.versions
    .filter((v) => v.served)
    .map((v) => ({
      group,
      version: v.name,
      apiVersion: `${group}/${v.name}`,
      kind: names.kind,
      listKind: names.listKind ?? `${names.kind}List`,
      plural: names.plural,
      singular: names.singular ?? names.kind.toLowerCase(),
      shortNames: names.shortNames ?? [],
      categories: names.categories ?? [],
      namespaced: scope === 'Namespaced',
      subresources: {
        status: v.subresources?.status !== undefined,
        ...(v.subresources?.scale ? { scale: { ...v.subresources.scale } } : {}),
      },
      printerColumns: (v.additionalPrinterColumns ?? []).map((c): PrinterColumn => ({ ...c })),
      storageVersion,
      crdName,
      builtIn,
    }));
}

const isCrdResource = (info: ResourceInfo): boolean => info.group === crdInfo.group && info.plural === crdInfo.plural;

/** Namespace names become DNS labels (and path segments); everything else is a DNS-1123 subdomain, as in Kubernetes. */
function nameProblemsFor(info: ResourceInfo): (name: string) => string[] {
  return info.group === namespaceInfo.group && info.plural === namespaceInfo.plural ? nameRules.label : nameRules.subdomain;
}

/** Names a new CRD would share with other kinds of its group (kube's NamesAccepted check): kind, listKind, singular, short names. */
function namesConflicts(crd: CustomResourceDefinition, others: ResourceInfo[]): FieldError[] {
  const names = crd.spec.names;
  const taken = new Set(others.flatMap((i) => [i.plural, i.singular, ...i.shortNames]));
  const takenKinds = new Set(others.flatMap((i) => [i.kind, i.listKind]));
  const errors: FieldError[] = [];
  if (takenKinds.has(names.kind)) errors.push(fieldErrors.duplicate('spec.names.kind', names.kind));
  if (names.listKind && takenKinds.has(names.listKind)) errors.push(fieldErrors.duplicate('spec.names.listKind', names.listKind));
  if (taken.has(names.singular ?? names.kind.toLowerCase())) errors.push(fieldErrors.duplicate('spec.names.singular', names.singular ?? names.kind.toLowerCase()));
  (names.shortNames ?? []).forEach((short, i) => {
    if (taken.has(short)) errors.push(fieldErrors.duplicate(`spec.names.shortNames[${i}]`, short));
  });
  return errors;
}

/** A CRD's spec, defaulted, as JSON with sorted keys: equal for definitions that only differ in defaults or key order. */
function canonicalSpec(crd: CustomResourceDefinition): string {
  const copy = structuredClone(crd) as unknown as Record<string, unknown>;
  defaultCrd(copy);
  return canonicalJson(copy.spec);
}

/** JSON with sorted object keys, to compare definitions regardless of key order. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.field}\0${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
