/**
 * The secrets read model (`secrets_secrets`): names and metadata, folded with the domain's own
 * `evolve`. The sealed value is left out: reading a value goes to the secret's stream.
 */
import {
  SECRET_CATEGORY,
  evolveSecret,
  initialSecretState,
  type SecretEvent,
  type SecretState,
} from '../../src/secrets/domain';
import { defineProjection } from '../runtime/projection';
import { foldInto, idInStream } from '../runtime/state-fold';

export const SECRETS_PROJECTION = 'secrets.secrets';

export const SECRET_EVENT_TYPES: readonly SecretEvent['type'][] = [
  'SecretCreated',
  'SecretRotated',
  'SecretDeleted',
];

export const secretsProjection = defineProjection({
  name: SECRETS_PROJECTION,
  version: 1,
  eventTypes: SECRET_EVENT_TYPES,
  async setup(m) {
    await m.query(`CREATE TABLE IF NOT EXISTS secrets_secrets (
      id uuid PRIMARY KEY,
      tenant_id uuid NOT NULL,
      name text NOT NULL,
      status text NOT NULL,
      state jsonb NOT NULL,
      revision bigint NOT NULL,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL
    )`);
    await m.query(
      'CREATE INDEX IF NOT EXISTS secrets_secrets_tenant ON secrets_secrets (tenant_id, created_at, id)',
    );
  },
  async reset(m) {
    await m.query('TRUNCATE secrets_secrets');
  },
  async apply(events, manager) {
    await foldInto<SecretState>(
      events,
      manager,
      'secrets_secrets',
      (e) => idInStream(SECRET_CATEGORY, e.streamId),
      initialSecretState,
      (s, e) => evolveSecret(s, { type: e.type, data: e.data } as SecretEvent),
      async (id, { state: s, createdAt, updatedAt }, revision, m) => {
        if (s.status === 'none' || s.tenantId === null || s.name === null) return;
        const stored: SecretState = { ...s, sealed: null };
        await m.query(
          `INSERT INTO secrets_secrets (id, tenant_id, name, status, state, revision, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, state = EXCLUDED.state,
             revision = EXCLUDED.revision, updated_at = EXCLUDED.updated_at`,
          [
            id,
            s.tenantId,
            s.name,
            s.status,
            JSON.stringify(stored),
            revision,
            createdAt,
            updatedAt,
          ],
        );
      },
    );
  },
});

export const SECRETS_PROJECTIONS = [secretsProjection];
