import { Module, type DynamicModule, type ModuleMetadata } from '@nestjs/common';
import type { Logger as PinoLogger } from 'pino';
import type { AppConfig } from './config/config';
import { HealthModule } from './health/health.module';
import { MetaModule } from './meta/meta.module';
import { PlatformModule } from './platform/platform.module';

/**
 * The application's feature modules, one per bounded context (plus projections and sagas).
 * A context adds its module here; PlatformModule is global and comes first.
 */
export const FEATURE_MODULES: NonNullable<ModuleMetadata['imports']> = [HealthModule, MetaModule];

/** Extra modules, controllers and providers, for tests that mount a module of their own. */
export interface AppExtras {
  imports?: ModuleMetadata['imports'];
  controllers?: ModuleMetadata['controllers'];
  providers?: ModuleMetadata['providers'];
}

@Module({})
export class AppModule {
  static register(
    config: AppConfig,
    rootLogger: PinoLogger,
    extras: AppExtras = {},
  ): DynamicModule {
    return {
      module: AppModule,
      imports: [
        PlatformModule.forRoot(config, rootLogger),
        ...FEATURE_MODULES,
        ...(extras.imports ?? []),
      ],
      controllers: extras.controllers ?? [],
      providers: extras.providers ?? [],
    };
  }
}
