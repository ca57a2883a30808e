import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { createServer, type Server, type Socket } from 'node:net';
import { COMPUTE_DRIVER, type ComputeDriver } from '../../drivers/docker/compute-driver';
import {
  NAMESPACE_CONNECTOR,
  type NamespaceConnector,
} from '../../drivers/docker/namespace-connector';
import { ComputeQueries, type PortPublication } from './compute-queries';

/** The address published ports listen on: the host's loopback, never a routed address. */
export const PUBLISH_ADDRESS = '127.0.0.1';
const SYNC_INTERVAL_MS = 1_000;

interface Listener extends PortPublication {
  server: Server;
  sockets: Set<Socket>;
}

/**
 * Publishes the `ports` of live instances (`8080:80` listens on 127.0.0.1:8080 and reaches port
 * 80 of the instance): one listener per host port, kept in step with the instances read model
 * every second and at start-up, so a restarted API publishes again what it published before.
 * A connection is relayed from inside the container's network namespace (NamespaceConnector);
 * while the instance is not running it is closed at once.
 */
@Injectable()
export class PublishedPorts implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('compute');
  private readonly listeners = new Map<number, Listener>();
  private readonly failedToListen = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private syncing: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly queries: ComputeQueries,
    @Inject(COMPUTE_DRIVER) private readonly driver: ComputeDriver,
    @Inject(NAMESPACE_CONNECTOR) private readonly connector: NamespaceConnector,
  ) {}

  /** Whether instance ports are published on this host at all. */
  get active(): boolean {
    return this.connector.unavailableReason === null;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.active) {
      this.logger.log(`published ports: not relayed (${this.connector.unavailableReason})`);
      return;
    }
    this.logger.log(`published ports: relayed on ${PUBLISH_ADDRESS} through nsenter and socat`);
    await this.sync().catch((error: unknown) =>
      this.logger.warn(`publishing ports failed: ${String(error)}`),
    );
    this.timer = setInterval(() => {
      this.sync().catch((error: unknown) =>
        this.logger.warn(`publishing ports failed: ${String(error)}`),
      );
    }, SYNC_INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.syncing;
    await Promise.all([...this.listeners.values()].map((l) => this.close(l)));
    this.listeners.clear();
  }

  /**
   * Whether a launch may take `port`: false when a program other than this API listens on it.
   * (Ports held by instances are the read model's check.)
   */
  async hostPortFree(port: number): Promise<boolean> {
    if (!this.active || this.listeners.has(port)) return true;
    return new Promise((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen({ host: PUBLISH_ADDRESS, port, exclusive: true }, () =>
        probe.close(() => resolve(true)),
      );
    });
  }

  /** Opens and closes listeners to match the live instances; one pass at a time. */
  sync(): Promise<void> {
    this.syncing ??= this.syncOnce().finally(() => (this.syncing = null));
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    if (this.stopped) return;
    const wanted = new Map((await this.queries.publishedPorts()).map((p) => [p.hostPort, p]));
    for (const [port, listener] of this.listeners) {
      const publication = wanted.get(port);
      if (publication && publication.instanceId === listener.instanceId) {
        // The NIC may have come after the listener (the launch saga attaches it later).
        listener.targetAddress = publication.targetAddress;
        listener.containerPort = publication.containerPort;
        continue;
      }
      this.listeners.delete(port);
      await this.close(listener);
    }
    for (const publication of wanted.values()) {
      if (this.stopped || this.listeners.has(publication.hostPort)) continue;
      await this.listen(publication);
    }
  }

  private async listen(publication: PortPublication): Promise<void> {
    const listener: Listener = {
      ...publication,
      // A client's half-close must reach the instance, not end the connection.
      server: createServer({ allowHalfOpen: true }),
      sockets: new Set(),
    };
    listener.server.on('connection', (socket) => this.accept(listener, socket));
    const opened = await new Promise<boolean>((resolve) => {
      listener.server.once('error', (error: NodeJS.ErrnoException) => {
        if (!this.failedToListen.has(publication.hostPort)) {
          this.failedToListen.add(publication.hostPort);
          this.logger.warn(
            `port ${publication.hostPort} of instance ${publication.instanceId} is not published: ${error.code ?? error.message}`,
          );
        }
        resolve(false);
      });
      listener.server.listen(
        { host: PUBLISH_ADDRESS, port: publication.hostPort, exclusive: true },
        () => resolve(true),
      );
    });
    if (!opened) return;
    this.failedToListen.delete(publication.hostPort);
    this.listeners.set(publication.hostPort, listener);
  }

  private accept(listener: Listener, socket: Socket): void {
    listener.sockets.add(socket);
    socket.on('close', () => listener.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    this.driver
      .inspect(listener.instanceId)
      .then((info) => {
        if (!info || info.state !== 'running' || !info.pid || socket.destroyed) {
          socket.destroy();
          return;
        }
        this.connector.relay(socket, info.pid, listener.targetAddress, listener.containerPort);
      })
      .catch(() => socket.destroy());
  }

  private close(listener: Listener): Promise<void> {
    for (const socket of listener.sockets) socket.destroy();
    return new Promise((resolve) => listener.server.close(() => resolve()));
  }
}
