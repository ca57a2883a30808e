import { EventStoreDbEventStore } from '../../src/eventstore/eventstoredb/eventstoredb-event-store';
import { eventStoreContract } from './event-store.contract';

const url = process.env.EVENTSTORE_URL;

eventStoreContract(
  'eventstoredb',
  () => ({
    create: async (upcasters) => {
      const store = new EventStoreDbEventStore({ connectionString: url ?? '', upcasters });
      await store.init();
      return store;
    },
  }),
  // EventStoreDB deduplicates event ids per stream only.
  { globallyUniqueEventIds: false },
  url ? undefined : 'EVENTSTORE_URL is not set (no EventStoreDB server on this machine)',
);
