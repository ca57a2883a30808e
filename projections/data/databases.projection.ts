/** The databases read model (`data_databases`), folded with the domain's own `evolve`. */
import {
  DATABASE_CATEGORY,
  evolveDatabase,
  initialDatabaseState,
  type DatabaseEvent,
  type DatabaseState,
} from '../../src/data/domain';
import { defineProjection } from '../runtime/projection';
import { foldInto, idInStream } from '../runtime/state-fold';

export const DATABASES_PROJECTION = 'data.databases';

export const DATABASE_EVENT_TYPES: readonly DatabaseEvent['type'][] = [
  'DatabaseCreated',
  'DatabaseReplicaCreated',
  'DatabasePromoted',
  'DatabaseRunning',
  'DatabaseFailed',
  'DatabaseModified',
  'DatabaseStopped',
  'DatabaseStarted',
  'DatabaseCredentialsRotated',
  'DatabaseDeletionStarted',
  'DatabaseDeletionAborted',
  'DatabaseDeleted',
  'DatabaseEngineRestarted',
  'DatabaseEngineLost',
];

export const databasesProjection = defineProjection({
  name: DATABASES_PROJECTION,
  version: 1,
  eventTypes: DATABASE_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS data_databases (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      name text NOT NULL,
      status text NOT NULL,
      role text NOT NULL,
      state jsonb NOT NULL,
      revision bigint NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS data_databases_tenant ON data_databases (tenant_id, created_at, id)',
    );
  },
  async reset(m) {
    await m.query('TRUNCATE data_databases');
  },
  async apply(events, manager) {
    await foldInto<DatabaseState>(
      events,
      manager,
      'data_databases',
      (e) => idInStream(DATABASE_CATEGORY, e.streamId),
      initialDatabaseState,
      (s, e) => evolveDatabase(s, { type: e.type, data: e.data } as DatabaseEvent),
      async (id, { state: s, createdAt, updatedAt }, revision, m) => {
        if (s.status === 'none' || s.tenantId === null || s.name === null) return;
        await m.query(
          `INSERT INTO data_databases (id, tenant_id, name, status, role, state, revision, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, role = EXCLUDED.role,
             state = EXCLUDED.state, revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
          [
            id,
            s.tenantId,
            s.name,
            s.status,
            s.role,
            JSON.stringify(s),
            revision,
            createdAt,
            updatedAt,
          ],
        );
      },
    );
  },
});
