/** The database snapshots read model (`data_database_snapshots`), folded with the domain's `evolve`. */
import {
  DATABASE_SNAPSHOT_CATEGORY,
  evolveSnapshot,
  initialSnapshotState,
  type SnapshotEvent,
  type SnapshotState,
} from '../../src/data/domain';
import { defineProjection } from '../runtime/projection';
import { foldInto, idInStream } from '../runtime/state-fold';

export const DATABASE_SNAPSHOTS_PROJECTION = 'data.database_snapshots';

export const SNAPSHOT_EVENT_TYPES: readonly SnapshotEvent['type'][] = [
  'DatabaseSnapshotStarted',
  'DatabaseSnapshotAvailable',
  'DatabaseSnapshotFailed',
  'DatabaseSnapshotDeleted',
];

export const databaseSnapshotsProjection = defineProjection({
  name: DATABASE_SNAPSHOTS_PROJECTION,
  version: 1,
  eventTypes: SNAPSHOT_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS data_database_snapshots (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      database_id uuid NOT NULL,
      name text NOT NULL,
      status text NOT NULL,
      state jsonb NOT NULL,
      revision bigint NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await m.query(
      `CREATE INDEX IF NOT EXISTS data_database_snapshots_database
         ON data_database_snapshots (tenant_id, database_id, created_at, id)`,
    );
  },
  async reset(m) {
    await m.query('TRUNCATE data_database_snapshots');
  },
  async apply(events, manager) {
    await foldInto<SnapshotState>(
      events,
      manager,
      'data_database_snapshots',
      (e) => idInStream(DATABASE_SNAPSHOT_CATEGORY, e.streamId),
      initialSnapshotState,
      (s, e) => evolveSnapshot(s, { type: e.type, data: e.data } as SnapshotEvent),
      async (id, { state: s, createdAt, updatedAt }, revision, m) => {
        if (s.status === 'none' || s.tenantId === null || s.databaseId === null) return;
        await m.query(
          `INSERT INTO data_database_snapshots
             (id, tenant_id, database_id, name, status, state, revision, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, state = EXCLUDED.state,
             revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
          [
            id,
            s.tenantId,
            s.databaseId,
            s.name ?? id,
            s.status,
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
