import type { DatabaseEngine, EngineImageSource } from '../../src/data/ports/engines';
import type { CommandExecutor } from '../../src/eventstore/command-executor';
import type { EventStore } from '../../src/eventstore/event-store';
import type { CommandContext } from '../../src/kernel/command-context';
import type { SecretStore } from '../../src/secrets/ports/secret-store';

/** What the database sagas need; DataModule provides them (`provideSaga`). */
export interface DatabaseSagaPorts {
  executor: CommandExecutor;
  store: EventStore;
  engine: DatabaseEngine;
  secrets: SecretStore;
  images: EngineImageSource;
  releaseQuota(tenantId: string, databaseId: string, ctx: CommandContext): Promise<unknown>;
  /** Where snapshot files live (`<NIMBUS_DATA_DIR>/database-snapshots`). */
  snapshotDir: string;
}
