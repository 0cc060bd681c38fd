/** CRD builders shared by the schema tests (unit and integration). */
import type { CustomResourceDefinition } from '../../../api/schema';

export function newWidgetCrd(overrides: { group?: string; plural?: string; kind?: string; scope?: 'Namespaced' | 'Cluster' } = {}): CustomResourceDefinition {
  const group = overrides.group ?? 'example.com';
  const plural = overrides.plural ?? 'widgets';
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${group}` },
    spec: {
      group,
      scope: overrides.scope ?? 'Namespaced',
      names: { kind: overrides.kind ?? 'Widget', plural, shortNames: ['wd'], categories: ['all'] },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'A Widget is a thing with a size.',
              properties: {
                spec: {
                  type: 'object',
                  description: 'What the widget should be.',
                  required: ['size'],
                  properties: {
                    size: { type: 'integer', minimum: 1, description: 'How big.' },
                    color: { type: 'string', enum: ['red', 'blue'], default: 'red', description: 'Which colour.' },
                    replicas: { type: 'integer', minimum: 0, description: 'How many.' },
                    extra: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  },
                },
                status: { type: 'object', properties: { replicas: { type: 'integer' }, phase: { type: 'string' }, selector: { type: 'string' } } },
              },
            },
          },
          subresources: { status: {}, scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' } },
          additionalPrinterColumns: [
            { name: 'Size', type: 'integer', jsonPath: '.spec.size' },
            { name: 'Color', type: 'string', jsonPath: '.spec.color' },
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
          ],
        },
      ],
    },
  };
}
