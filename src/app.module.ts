import { Module, type DynamicModule, type ModuleMetadata } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import type { Logger as PinoLogger } from 'pino';
import type { AppConfig } from './config/config';
import { DriversModule } from './drivers/drivers.module';
import { HealthModule } from './health/health.module';
import { MetaModule } from './meta/meta.module';
import { PlatformModule } from './platform/platform.module';
import { QuotasModule } from './platform/quotas/quotas.module';
import { SagasModule } from '../sagas/runtime/sagas.module';
import { allProjections } from '../projections';
import { ProjectionsModule } from '../projections/runtime/projections.module';
import { AuditModule } from './audit/audit.module';
import { BillingModule } from './billing/billing.module';
import { TimelineModule } from './timeline/timeline.module';
import { WebhooksModule } from './webhooks/webhooks.module';
import { ReportsModule } from './reports/reports.module';
import { PrivacyModule } from './privacy/privacy.module';
import { AdminModule } from './admin/admin.module';
import { ComputeModule } from './compute/compute.module';
import { IdentityModule } from './identity/identity.module';
import { NetworkModule } from './network/network.module';
import { ClustersModule } from './clusters/clusters.module';
import { StorageModule } from './storage/storage.module';
import { SecretsModule } from './secrets/secrets.module';
import { DataModule } from './data/data.module';
import { APP_RESOURCE_CATALOG, ResourceCatalogModule } from './resource-kinds';

/**
 * The application's feature modules, one per bounded context (plus drivers, projections and
 * sagas). A context adds its module here, configured from `config` when it needs to be
 * (`DriversModule.forRoot({ modes: { docker: config.docker, ovs: config.ovs, ovn: config.ovn } })`).
 * PlatformModule is global and comes first.
 */
export function featureModules(_config: AppConfig): NonNullable<ModuleMetadata['imports']> {
  return [
    CqrsModule.forRoot(),
    DriversModule.forRoot({
      modes: { docker: _config.docker, ovs: _config.ovs, ovn: _config.ovn },
    }),
    ResourceCatalogModule,
    QuotasModule,
    HealthModule,
    MetaModule,
    SagasModule.forRoot(),
    ProjectionsModule.forRoot({ projections: allProjections(APP_RESOURCE_CATALOG) }),
    IdentityModule,
    AdminModule,
    BillingModule,
    AuditModule,
    ComputeModule,
    NetworkModule,
    ClustersModule,
    StorageModule,
    SecretsModule,
    DataModule,
    TimelineModule,
    WebhooksModule,
    ReportsModule,
    PrivacyModule,
  ];
}

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
        ...featureModules(config),
        ...(extras.imports ?? []),
      ],
      controllers: extras.controllers ?? [],
      providers: extras.providers ?? [],
    };
  }
}
