/** Event: a report of something that happened to an object, shaped like core/v1 Event. */
import { objectReferenceSchema } from './common';
import { int32, obj, oneOfValues, str, time } from './dsl';
import type { KindDefinition } from './types';

export const event: KindDefinition = {
  kind: 'Event',
  plural: 'events',
  shortNames: ['ev'],
  categories: ['berth'],
  scope: 'Namespaced',
  description: 'Event is a report of an event somewhere in the cluster, shaped like core/v1 Event (top-level fields, no spec). Events are informational; nothing depends on them.',
  properties: {
    involvedObject: objectReferenceSchema('The object that this event is about.'),
    reason: str('This should be a short, machine understandable string that gives the reason for the transition into the object\'s current status (CamelCase).'),
    message: str('A human-readable description of the status of this operation.'),
    type: oneOfValues('Type of this event (Normal, Warning), new types could be added in the future', ['Normal', 'Warning']),
    source: obj('The component reporting this event.', {
      component: str('Component from which the event is generated.'),
      host: str('Node name on which the event is generated.'),
    }),
    firstTimestamp: time('The time at which the event was first recorded.'),
    lastTimestamp: time('The time at which the most recent occurrence of this event was recorded.'),
    count: int32('The number of times this event has occurred.', { minimum: 0 }),
    eventTime: time('Time when this Event was first observed (microsecond precision).'),
    series: obj('Data about the Event series this event represents.', {
      count: int32('Number of occurrences in this series up to the last heartbeat time.'),
      lastObservedTime: time('Time of the last occurrence observed.'),
    }),
    action: str('What action was taken/failed regarding to the involvedObject.'),
    related: objectReferenceSchema('Optional secondary object for more complex actions.'),
    reportingComponent: str('Name of the controller that emitted this Event, e.g. `berth.dev/service-controller`.'),
    reportingInstance: str('ID of the controller instance, e.g. its host name.'),
  },
  required: ['involvedObject'],
  statusSubresource: false,
  printerColumns: [
    { name: 'Last Seen', type: 'date', jsonPath: '.lastTimestamp' },
    { name: 'Type', type: 'string', jsonPath: '.type' },
    { name: 'Reason', type: 'string', jsonPath: '.reason' },
    { name: 'Object', type: 'string', jsonPath: '.involvedObject.name' },
    { name: 'Message', type: 'string', jsonPath: '.message' },
  ],
};
