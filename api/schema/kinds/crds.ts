/**
 * The built-in kinds as CustomResourceDefinitions. manifests/crds/*.yaml are rendered from here
 * (`node dist/api/schema/kinds/crds.js` after a build; a unit test fails when they are stale), and the API server
 * loads those files through the same path as user CRDs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { findBuiltinCrdDir } from '../load';
import type { CustomResourceDefinition } from '../types';
import { container } from './container';
import { event } from './event';
import { image } from './image';
import { lease } from './lease';
import { network } from './network';
import { node } from './node';
import { secret } from './secret';
import { service } from './service';
import type { KindDefinition } from './types';

export const BERTH_GROUP = 'berth.dev';
export const BERTH_VERSION = 'v1';

export const builtinKinds: readonly KindDefinition[] = [container, service, image, network, secret, node, event, lease];

export function toCrd(def: KindDefinition): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${BERTH_GROUP}`, labels: { 'berth.dev/built-in': 'true' } },
    spec: {
      group: BERTH_GROUP,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.kind.toLowerCase(),
        ...(def.shortNames ? { shortNames: [...def.shortNames] } : {}),
        ...(def.categories ? { categories: [...def.categories] } : {}),
      },
      scope: def.scope,
      versions: [
        {
          name: BERTH_VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: def.description,
              properties: {
                apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object: berth.dev/v1.' },
                kind: { type: 'string', description: `Kind is a string value representing the REST resource this object represents: ${def.kind}.` },
                metadata: { type: 'object' },
                ...def.properties,
              },
              ...(def.required ? { required: [...def.required] } : {}),
            },
          },
          ...(def.statusSubresource || def.scale
            ? { subresources: { ...(def.statusSubresource ? { status: {} } : {}), ...(def.scale ? { scale: { ...def.scale } } : {}) } }
            : {}),
          additionalPrinterColumns: def.printerColumns.map((c) => ({ ...c })),
        },
      ],
    },
  };
}

const HEADER = '# Generated from api/schema/kinds/*.ts by `node dist/api/schema/kinds/crds.js` — edit those, not this file.\n';

/** File name → YAML text of every built-in CRD. */
export function renderCrdManifests(): Map<string, string> {
  return new Map(builtinKinds.map((def) => [`${def.plural}.yaml`, HEADER + stringify(toCrd(def), { lineWidth: 0, aliasDuplicateObjects: false })]));
}

/** Writes the manifests into `dir` (manifests/crds). */
export function writeCrdManifests(dir: string): string[] {
  const written: string[] = [];
  for (const [file, text] of renderCrdManifests()) {
    fs.writeFileSync(path.join(dir, file), text);
    written.push(file);
  }
  return written;
}

if (require.main === module) {
  const dir = findBuiltinCrdDir();
  console.log(`wrote ${writeCrdManifests(dir).join(', ')} into ${dir}`);
}
