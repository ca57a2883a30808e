import 'reflect-metadata';
import { StartupError } from './common/startup-error';
import { ConfigError, loadConfig } from './config/config';
import { createApp } from './create-app';
import { createRootLogger } from './platform/logging';

/**
 * Starts the API. Whatever stops the start — a bad variable, an unreachable database, a port in
 * use, an `'error'` event nobody listens to — ends in one line on stderr naming the cause and what
 * to do, and exit code 2 (configuration) or 1 (anything else); never a bare stack trace.
 */
let started = false;

function fail(err: unknown): never {
  process.stderr.write(`nimbus: cannot start: ${startupMessage(err)}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
}

function startupMessage(err: unknown): string {
  if (err instanceof ConfigError || err instanceof StartupError) return err.message;
  const e = err as NodeJS.ErrnoException | undefined;
  const message = err instanceof Error ? err.message.split('\n')[0] : String(err);
  if (e?.code === 'EADDRINUSE' || e?.code === 'EACCES' || e?.code === 'EADDRNOTAVAIL') {
    if (e.syscall === 'listen') {
      return `cannot listen on ${(e as { address?: string }).address ?? 'the address'}:${(e as { port?: number }).port ?? '?'} (${e.code}); stop the program using it or set PORT (and HOST) to a free one`;
    }
  }
  if (e?.code === 'EACCES' || e?.code === 'EROFS' || e?.code === 'ENOTDIR' || e?.code === 'EPERM') {
    return `${message}; point NIMBUS_DATA_DIR at a directory this user can write`;
  }
  if (e?.code === 'ECONNREFUSED' || e?.code === 'ENOTFOUND' || e?.code === '28P01') {
    return `cannot reach the database: ${message}; check DATABASE_URL (or unset it for the embedded PostgreSQL)`;
  }
  return `${message}; LOG_LEVEL=debug logs the details`;
}

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = createRootLogger(config.logLevel);
  const app = await createApp(config, { logger });
  app.enableShutdownHooks(['SIGINT', 'SIGTERM']);
  await app.listen(config.port, config.host);
  started = true;
  const url = app.getHttpServer().address();
  const port = typeof url === 'object' && url ? url.port : config.port;
  logger.info(
    { url: `http://${config.host}:${port}`, docs: `http://${config.host}:${port}/docs` },
    `Nimbus API listening on http://${config.host}:${port}`,
  );
}

// An 'error' event without a listener (a child process, a socket) during start-up is a start-up
// failure like any other; once the API listens, it is a bug: its stack is printed and the process exits.
process.on('uncaughtException', (err) => {
  if (!started) fail(err);
  process.stderr.write(
    `nimbus: stopped on an unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});

main().catch(fail);
