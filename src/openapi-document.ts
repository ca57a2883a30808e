import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { AppModule, type AppExtras } from './app.module';
import { loadConfig } from './config/config';
import { packageVersion } from './create-app';
import { createRootLogger } from './platform/logging';
import { buildOpenApiDocument } from './platform/openapi';

/**
 * The application's OpenAPI document, built without starting anything: the module graph in
 * Nest's preview mode (no provider is instantiated, so no database, Docker or port is touched).
 * It equals what the running app serves at /openapi.json; `npm run sdk:generate` commits it as
 * src/sdk/openapi.json. `extras` adds modules or controllers (a test's route).
 */
export async function buildOfflineOpenApiDocument(extras: AppExtras = {}): Promise<OpenAPIObject> {
  const config = {
    ...loadConfig({
      LOG_LEVEL: 'silent',
      NIMBUS_DOCKER: 'simulated',
      NIMBUS_OVS: 'simulated',
      NIMBUS_OVN: 'simulated',
    }),
    databaseUrl: 'postgres://offline.invalid/nimbus',
  };
  const app = await NestFactory.create(
    AppModule.register(config, createRootLogger('silent'), extras),
    new FastifyAdapter(),
    { preview: true, logger: false, abortOnError: false },
  );
  try {
    return buildOpenApiDocument(app, packageVersion());
  } finally {
    await app.close();
  }
}
