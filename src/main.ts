import 'reflect-metadata';
import { ConfigError, loadConfig } from './config/config';
import { createApp } from './create-app';
import { createRootLogger } from './platform/logging';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`nimbus: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  const logger = createRootLogger(config.logLevel);
  const app = await createApp(config, { logger });
  app.enableShutdownHooks(['SIGINT', 'SIGTERM']);
  await app.listen(config.port, config.host);
  logger.info(
    {
      url: `http://${config.host}:${config.port}`,
      docs: `http://${config.host}:${config.port}/docs`,
    },
    `Nimbus API listening on http://${config.host}:${config.port}`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(
    `nimbus: start-up failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
