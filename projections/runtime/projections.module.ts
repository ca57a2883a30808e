import {
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { DataSource } from 'typeorm';
import { EVENT_STORE, type EventStore } from '../../src/eventstore/event-store';
import { READ_YOUR_WRITES } from '../../src/platform/commands/use-case';
import { APP_CONFIG } from '../../src/platform/tokens';
import type { AppConfig } from '../../src/config/config';
import type { Projection } from './projection';
import { ProjectionRuntime, type ProjectionRuntimeOptions } from './projection-runtime';
import { ProjectionWaiter } from './projection-waiter';

export const PROJECTION_DEFINITIONS = Symbol('PROJECTION_DEFINITIONS');

export interface ProjectionsModuleOptions {
  /** The application passes allProjections(...) (projections/index.ts); tests pass their own. */
  projections: readonly Projection[];
  runtime?: ProjectionRuntimeOptions;
  /** Defaults to the AppConfig's readYourWritesTimeoutMs, else 2000. */
  readYourWritesTimeoutMs?: number;
}

@Injectable()
class ProjectionsLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Projections');

  constructor(
    @Inject(ProjectionRuntime) private readonly runtime: ProjectionRuntime,
    @Inject(ProjectionWaiter) private readonly waiter: ProjectionWaiter,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.runtime.start();
    const names = this.runtime.projections.map((p) => `${p.name}@v${p.version}`);
    this.logger.log(`runners started: ${names.length > 0 ? names.join(', ') : '(none)'}`);
  }

  // Before the platform closes the event store and the DataSource (onApplicationShutdown).
  async onModuleDestroy(): Promise<void> {
    this.waiter.close();
    await this.runtime.stop();
  }
}

/**
 * Starts one runner per projection when the application has bootstrapped, stops them on
 * shutdown, and provides `ProjectionWaiter` (read-your-writes) and `ProjectionRuntime` (status,
 * rebuild) to every module. Needs EVENT_STORE and the TypeORM DataSource from PlatformModule.
 *
 *   imports: [ProjectionsModule.forRoot({ projections: allProjections(APP_RESOURCE_CATALOG) })]
 */
@Global()
@Module({})
export class ProjectionsModule {
  static forRoot(options: ProjectionsModuleOptions): DynamicModule {
    return {
      module: ProjectionsModule,
      providers: [
        { provide: PROJECTION_DEFINITIONS, useValue: options.projections },
        {
          provide: ProjectionRuntime,
          inject: [EVENT_STORE, DataSource, PROJECTION_DEFINITIONS],
          useFactory: (store: EventStore, dataSource: DataSource, projections: Projection[]) =>
            new ProjectionRuntime(store, dataSource, projections, options.runtime),
        },
        {
          provide: ProjectionWaiter,
          inject: [ProjectionRuntime, DataSource, { token: APP_CONFIG, optional: true }],
          useFactory: (
            runtime: ProjectionRuntime,
            dataSource: DataSource,
            config: AppConfig | undefined,
          ) =>
            new ProjectionWaiter(runtime, dataSource, {
              readYourWritesTimeoutMs:
                options.readYourWritesTimeoutMs ?? config?.readYourWritesTimeoutMs ?? 2000,
            }),
        },
        { provide: READ_YOUR_WRITES, useExisting: ProjectionWaiter },
        ProjectionsLifecycle,
      ],
      exports: [ProjectionRuntime, ProjectionWaiter, READ_YOUR_WRITES, PROJECTION_DEFINITIONS],
    };
  }
}
