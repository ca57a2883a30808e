import { describe, it } from 'vitest';
import { EventStoreDbEventStore } from '../../src/eventstore/eventstoredb/eventstoredb-event-store';
import { eventStoreContract } from './event-store.contract';

const url = process.env.EVENTSTORE_URL;

if (url) {
  eventStoreContract(
    'eventstoredb',
    () => ({
      create: async (upcasters) => {
        const store = new EventStoreDbEventStore({ connectionString: url, upcasters });
        await store.init();
        return store;
      },
    }),
    // EventStoreDB deduplicates event ids per stream only.
    { globallyUniqueEventIds: false },
  );
} else {
  describe('event store contract: eventstoredb', () => {
    it('runs only when EVENTSTORE_URL points at a server (none can run on this machine)', () => {
      console.warn(
        '[contract] EVENTSTORE_URL is not set: the EventStoreDB contract suite was skipped',
      );
    });
  });
}
