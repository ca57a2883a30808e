import {
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  APP_GUARD,
  DiscoveryModule,
  DiscoveryService,
  MetadataScanner,
  Reflector,
} from '@nestjs/core';
import { join } from 'node:path';
import type { Pool } from 'pg';
import { redact, type AppConfig } from '../config/config';
import { EVENT_STORE, type EventStore } from '../eventstore/event-store';
import { APP_CONFIG, PG_POOL } from '../platform/tokens';
import { ACCOUNT_USE_CASES, AccountDirectory, Sessions } from './application/accounts';
import { API_KEY_USE_CASES, ApiKeysService } from './application/api-keys';
import { POLICY_USE_CASES, PoliciesService } from './application/policies';
import { TENANT_USE_CASES, TenantsService } from './application/tenants';
import { AccessDeniedRecorder } from './auth/access-denied.recorder';
import { AccessTokens } from './auth/access-tokens';
import { AuthRateLimits } from './auth/auth-rate-limits';
import { SignInThrottle } from './auth/sign-in-throttle';
import { AuthGuard } from './auth/auth.guard';
import { PrincipalCache } from './auth/principal-cache';
import { PolicyNames } from './application/policies/policy-names';
import { declaredAccessOfRoutes } from './auth/route-access';
import { ApiKeysController } from './http/api-keys.controller';
import { AuthController, MeController } from './http/auth.controller';
import { IamController } from './http/iam.controller';
import { TenantsController } from './http/tenants.controller';
import { SERVER_KEYS } from './identity.tokens';
import { Clock } from '../platform/clock';
import { DataKeyStore } from './keys/data-key-store';
import { loadServerKeys, type LoadedServerKeys, type ServerKeys } from './keys/server-keys';
import { MailOutbox } from './mail/mail-outbox';
import { SmtpMailSender } from './mail/smtp-sender';
import { IdentityReadModel } from './read-model/identity-read-model';

const logger = new Logger('identity');

/**
 * Finishes interrupted erasures (UserErased appended, key row not yet deleted) once projected;
 * delivers mail left in the outbox by the previous run, and closes the outbox on shutdown.
 */
@Injectable()
class IdentityStartup implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly dataKeys: DataKeyStore,
    private readonly mail: MailOutbox,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const destroyed = await this.dataKeys.destroyKeysOfErasedUsers();
    if (destroyed > 0) logger.warn(`destroyed ${destroyed} data key(s) of already erased users`);
    this.mail.start();
    const undeclared = declaredAccessOfRoutes(this.discovery, this.scanner, this.reflector).filter(
      (r) => r.access === 'undeclared',
    );
    if (undeclared.length > 0) {
      logger.warn(
        `routes without @RequireAction/@Public/@Authenticated/@OperatorOnly (authenticated, no IAM check): ${undeclared
          .map((r) => `${r.method} ${r.path}`)
          .join(', ')}`,
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.mail.close();
  }
}

/**
 * The identity context: accounts, sessions, API keys, tenants, IAM policies, and the global auth
 * guard every route of the API goes through (auth/decorators.ts says how routes declare access).
 */
@Module({
  imports: [DiscoveryModule],
  controllers: [AuthController, MeController, ApiKeysController, TenantsController, IamController],
  providers: [
    {
      provide: SERVER_KEYS,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): ServerKeys => {
        const keys: LoadedServerKeys = loadServerKeys(config);
        const generated = Object.entries(keys.sources)
          .filter(([, source]) => source === 'generated')
          .map(([name]) => name);
        if (generated.length > 0) {
          logger.log(`generated server key(s) ${generated.join(', ')} in ${keys.directory}`);
        }
        return keys;
      },
    },
    {
      provide: DataKeyStore,
      inject: [PG_POOL, SERVER_KEYS],
      useFactory: async (pool: Pool, keys: ServerKeys) => {
        const store = new DataKeyStore(pool, keys.masterKeyring);
        await store.init();
        return store;
      },
    },
    {
      provide: AccessTokens,
      inject: [SERVER_KEYS, APP_CONFIG, Clock],
      useFactory: (keys: ServerKeys, config: AppConfig, clock: Clock) =>
        new AccessTokens(keys.jwtSecret, config.accessTokenTtlMs, () => clock.now()),
    },
    {
      provide: AuthRateLimits,
      inject: [APP_CONFIG, Clock],
      useFactory: (config: AppConfig, clock: Clock) =>
        new AuthRateLimits(config.authRateLimitPerMinute, config.apiRateLimitPerMinute, () =>
          clock.nowMs(),
        ),
    },
    {
      provide: SignInThrottle,
      inject: [Clock],
      useFactory: (clock: Clock) => new SignInThrottle(() => clock.nowMs()),
    },
    {
      provide: AccessDeniedRecorder,
      inject: [EVENT_STORE, Clock],
      useFactory: (store: EventStore, clock: Clock) =>
        new AccessDeniedRecorder(store, () => clock.now()),
    },
    {
      provide: MailOutbox,
      inject: [APP_CONFIG, Clock],
      useFactory: (config: AppConfig, clock: Clock) => {
        const mailLogger = new Logger('mail');
        if (config.smtpUrl)
          mailLogger.log(`mail is delivered over SMTP (${redact(config.smtpUrl)})`);
        return new MailOutbox({
          directory: join(config.dataDir, 'mail'),
          from: config.mailFrom,
          now: () => clock.now(),
          sender: config.smtpUrl ? new SmtpMailSender(config.smtpUrl) : null,
          logger: mailLogger,
        });
      },
    },
    IdentityReadModel,
    PrincipalCache,
    PolicyNames,
    AccountDirectory,
    Sessions,
    ...ACCOUNT_USE_CASES,
    TenantsService,
    ...TENANT_USE_CASES,
    ApiKeysService,
    ...API_KEY_USE_CASES,
    PoliciesService,
    ...POLICY_USE_CASES,
    IdentityStartup,
    { provide: APP_GUARD, useClass: AuthGuard },
  ],
  exports: [
    IdentityReadModel,
    AccessDeniedRecorder,
    AuthRateLimits,
    SignInThrottle,
    DataKeyStore,
    SERVER_KEYS,
    AccountDirectory,
  ],
})
export class IdentityModule {}
