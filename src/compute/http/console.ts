import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { WebSocketServer, type WebSocket } from 'ws';
import { COMPUTE_DRIVER, type ComputeDriver } from '../../drivers/docker/compute-driver';
import { InstanceOperations } from '../application/instances/instance-operations';

const TOKEN_TTL_MS = 60_000;
const PATH_RE = /^\/instances\/([0-9a-f-]{36})\/console\/ws$/;

interface ConsoleClaims {
  tenantId: string;
  instanceId: string;
  expiresAt: number;
}

/**
 * Short-lived console tokens: `GET /instances/:id/console` (authenticated, tenant-checked) mints
 * one bound to the tenant and the instance; the WebSocket upgrade presents it in `?token=`.
 * HMAC-SHA256 with a key of this process (a token is only good on the process that minted it,
 * for 60 s).
 */
@Injectable()
export class ConsoleTokens {
  private readonly key = randomBytes(32);

  mint(tenantId: string, instanceId: string, now = Date.now()): string {
    const claims: ConsoleClaims = { tenantId, instanceId, expiresAt: now + TOKEN_TTL_MS };
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    const mac = createHmac('sha256', this.key).update(body).digest('base64url');
    return `${body}.${mac}`;
  }

  verify(token: string, instanceId: string, now = Date.now()): ConsoleClaims | null {
    const [body, mac] = token.split('.');
    if (!body || !mac) return null;
    const expected = createHmac('sha256', this.key).update(body).digest();
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    try {
      const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as ConsoleClaims;
      if (claims.instanceId !== instanceId || claims.expiresAt < now) return null;
      return claims;
    } catch {
      return null;
    }
  }
}

/**
 * The console's WebSocket endpoint, `/instances/:id/console/ws?token=...`: attaches `sh` in the
 * container (docker exec with a TTY) and pipes bytes both ways. The token carries the tenant;
 * the instance is checked again (same tenant, RUNNING) at connection time.
 */
@Injectable()
export class ConsoleGateway implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('compute');
  private readonly wss = new WebSocketServer({ noServer: true });
  private server: {
    on: (e: 'upgrade', l: UpgradeListener) => void;
    off: (e: 'upgrade', l: UpgradeListener) => void;
  } | null = null;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly tokens: ConsoleTokens,
    private readonly instances: InstanceOperations,
    @Inject(COMPUTE_DRIVER) private readonly driver: ComputeDriver,
  ) {}

  onApplicationBootstrap(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as ConsoleGateway['server'];
    if (!server) return;
    this.server = server;
    server.on('upgrade', this.onUpgrade);
  }

  onModuleDestroy(): void {
    this.server?.off('upgrade', this.onUpgrade);
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
  }

  private readonly onUpgrade: UpgradeListener = (request, socket, head) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const match = PATH_RE.exec(url.pathname);
    if (!match) return; // another upgrade handler's path
    const instanceId = match[1];
    const claims = this.tokens.verify(url.searchParams.get('token') ?? '', instanceId);
    if (!claims) {
      reject(socket, 401, 'Unauthorized');
      return;
    }
    void this.attach(claims.tenantId, instanceId, request, socket, head);
  };

  private async attach(
    tenantId: string,
    instanceId: string,
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
  ): Promise<void> {
    let shell: Duplex;
    try {
      const state = await this.instances.loadOwned(instanceId, tenantId);
      if (state.status !== 'RUNNING') {
        reject(socket, 409, 'Conflict');
        return;
      }
      shell = await this.driver.shell(instanceId);
    } catch (error) {
      this.logger.warn(`console of ${instanceId} could not attach: ${String(error)}`);
      reject(socket, 404, 'Not Found');
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws: WebSocket) => {
      shell.on('data', (chunk: Buffer) => ws.send(chunk));
      shell.on('end', () => ws.close());
      shell.on('error', () => ws.close());
      ws.on('message', (data: Buffer) => shell.write(data));
      ws.on('close', () => shell.end());
    });
  }
}

type UpgradeListener = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

function reject(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
