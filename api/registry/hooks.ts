/**
 * Per-resource behaviour beyond the generic REST semantics: CRDs (validated as definitions, then served as new kinds)
 * and Namespaces (phase Active/Terminating). Keyed by `group/plural`.
 */
import type { CustomResourceDefinition, ResourceInfo, SchemaRegistry } from '../schema';
import type { StoredObject } from '../storage';
import { invalid } from '../server/errors';

export interface ResourceHooks {
  /** Last check/shaping of an object about to be stored (create and update); throw an ApiError to refuse it. */
  beforeStore?(info: ResourceInfo, obj: StoredObject): void;
  /** After a create/update is stored. */
  afterStore?(obj: StoredObject): void;
  /** After the object is gone from storage. */
  afterDelete?(obj: StoredObject): void;
}

const crdHooks = (schemas: SchemaRegistry): ResourceHooks => ({
  beforeStore(info, obj) {
    const crd = obj as unknown as CustomResourceDefinition;
    const errors = schemas.validateCrd(crd);
    if (errors.length > 0) throw invalid(info, crd.metadata.name, errors);
    obj.status = schemas.crdStatus(crd);
  },
  afterStore(obj) {
    schemas.addCrd(obj as unknown as CustomResourceDefinition);
  },
  afterDelete(obj) {
    schemas.removeCrd(String(obj.metadata.name));
  },
});

const namespaceHooks: ResourceHooks = {
  beforeStore(_info, obj) {
    const terminating = (obj.metadata as { deletionTimestamp?: string }).deletionTimestamp !== undefined;
    obj.spec = { finalizers: ['kubernetes'], ...(obj.spec as object | undefined) };
    obj.status = { ...(obj.status as object | undefined), phase: terminating ? 'Terminating' : 'Active' };
  },
};

/** Secrets: `stringData` is a write-only convenience, merged (base64) into `data` on every write, as Kubernetes does. */
const secretHooks: ResourceHooks = {
  beforeStore(_info, obj) {
    const stringData = obj.stringData as Record<string, string> | undefined;
    if (!stringData) return;
    const data = { ...(obj.data as Record<string, string> | undefined) };
    for (const [k, v] of Object.entries(stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
    obj.data = data;
    delete obj.stringData;
  },
};

export const hooksFor = (schemas: SchemaRegistry): ((info: ResourceInfo) => ResourceHooks) => {
  const crd = crdHooks(schemas);
  return (info) => {
    if (info.group === 'apiextensions.k8s.io' && info.plural === 'customresourcedefinitions') return crd;
    if (info.group === '' && info.plural === 'namespaces') return namespaceHooks;
    if (info.group === 'berth.dev' && info.plural === 'secrets') return secretHooks;
    return {};
  };
};
