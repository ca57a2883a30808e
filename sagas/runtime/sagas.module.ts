import { Clock } from '../../src/platform/clock';
import {
  Inject,
  Injectable,
  Logger,
  Module,
  type DynamicModule,
  type FactoryProvider,
  type InjectionToken,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import type { Pool } from 'pg';
import { EVENT_STORE, type EventStore } from '../../src/eventstore/event-store';
import { PG_POOL } from '../../src/platform/tokens';
import type { SagaDefinition } from './definition';
import {
  SagaRuntime,
  type SagaLogger,
  type StartSagaOptions,
  type StartSagaResult,
} from './saga-runtime';

export const SAGA_RUNTIME = Symbol('SAGA_RUNTIME');

export interface SagasModuleOptions {
  /** The token of the application's `pg` Pool; PlatformModule's PG_POOL by default. */
  poolToken?: InjectionToken;
  /** Sagas that need no ports; contexts register theirs with `provideSaga`. */
  sagas?: readonly SagaDefinition[];
  /** Defaults to EVENT_STORE. */
  eventStoreToken?: InjectionToken;
}

/** What command handlers inject to start a saga (launch-style sagas start from a command). */
@Injectable()
export class SagaLauncher {
  constructor(@Inject(SAGA_RUNTIME) private readonly runtime: SagaRuntime) {}

  /**
   * Starts instance `sagaId` of the saga with `input`. Idempotent: a repeat (a retried command)
   * returns the same answer and appends nothing. Pass the command's tenant and correlation.
   */
  start<TInput>(
    saga: SagaDefinition<TInput> | string,
    sagaId: string,
    input: TInput,
    options?: StartSagaOptions,
  ): Promise<StartSagaResult> {
    return this.runtime.startSaga(saga, sagaId, input, options);
  }
}

@Injectable()
class SagaRuntimeLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(@Inject(SAGA_RUNTIME) private readonly runtime: SagaRuntime) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.runtime.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.runtime.stop();
  }
}

function nestLogger(): SagaLogger {
  const logger = new Logger('Sagas');
  const line = (message: string, fields?: Record<string, unknown>): string =>
    fields ? `${message} ${JSON.stringify(fields)}` : message;
  return {
    info: (m, f) => logger.log(line(m, f)),
    warn: (m, f) => logger.warn(line(m, f)),
    error: (m, f) => logger.error(line(m, f)),
  };
}

/**
 * Starts the durable saga runtime for the given sagas when the application has bootstrapped and
 * stops it when the module is destroyed (before the pool and event store close, as long as the
 * platform closes them in `onApplicationShutdown` or later).
 *
 *   SagasModule.forRoot()
 *
 * A bounded context registers each of its sagas, built with the ports it needs, as a provider of
 * its own module (`provideSaga`); the runtime (global) has them all before it starts.
 */
@Module({})
export class SagasModule {
  static forRoot(options: SagasModuleOptions = {}): DynamicModule {
    return {
      module: SagasModule,
      // Global: the command handlers that start sagas inject SagaLauncher from any context.
      global: true,
      providers: [
        {
          provide: SAGA_RUNTIME,
          inject: [options.eventStoreToken ?? EVENT_STORE, options.poolToken ?? PG_POOL, Clock],
          useFactory: (store: EventStore, pool: Pool, clock: Clock) =>
            new SagaRuntime({
              store,
              pool,
              sagas: options.sagas ?? [],
              logger: nestLogger(),
              clock,
            }),
        },
        SagaLauncher,
        SagaRuntimeLifecycle,
      ],
      exports: [SagaLauncher, SAGA_RUNTIME],
    };
  }
}

/**
 * A provider that builds a context's saga from its ports (injected like any dependency) and
 * registers it with the application's saga runtime before the runtime starts:
 *
 *   providers: [provideSaga({ inject: [InstanceLaunchPortsProvider], useFactory: instanceLaunchSaga })]
 */
export function provideSaga<TDeps extends unknown[]>(saga: {
  inject: { [K in keyof TDeps]: InjectionToken };
  useFactory: (...deps: TDeps) => SagaDefinition;
}): FactoryProvider {
  const token = Symbol('SAGA_REGISTRATION');
  return {
    provide: token,
    inject: [SAGA_RUNTIME, ...saga.inject],
    useFactory: (runtime: SagaRuntime, ...deps: unknown[]) => {
      const definition = saga.useFactory(...(deps as TDeps));
      runtime.register(definition);
      return definition;
    },
  };
}
