/**
 * A small Kubernetes API server for tests: the subset `KubeClientApi` calls, over real HTTP on
 * loopback, with the semantics the upgrade saga depends on. Not a mock of the client: the real
 * `@kubernetes/client-node` talks to it.
 *
 *   GET  /version                                          the API server's gitVersion
 *   GET  /api/v1/nodes, /api/v1/nodes/:name                conditions (Ready), nodeInfo.kubeletVersion
 *   PATCH /api/v1/nodes/:name                              merge patch of spec.unschedulable
 *   DELETE /api/v1/nodes/:name                             removes the node object
 *   GET  /api/v1/pods?fieldSelector=spec.nodeName=<node>   pods on a node
 *   POST /api/v1/namespaces/:ns/pods/:name/eviction        201; 429 when a PodDisruptionBudget
 *                                                          allows no disruption; 404 when gone
 *   DELETE /api/v1/namespaces/:ns/pods/:name               deletes (a forced drain)
 *
 * Pods owned by a ReplicaSet come back on another schedulable Ready node when evicted or deleted
 * (what their Deployment would do), so a budget counts them again. A budget is `minAvailable` over
 * the pods matching its labels: an eviction is allowed while more than `minAvailable` of them run.
 *
 * What the cluster driver does to machines is reached through `/_fixture/...` (not Kubernetes):
 * replacing a node's kubelet (it reports the new `kubeletVersion`; Ready after `readyAfterMs`, or
 * never for a node made to stay NotReady), and the control plane's version.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FixtureNode {
  name: string;
  role: 'control-plane' | 'worker';
  unschedulable: boolean;
  ready: boolean;
  kubeletVersion: string;
  /** After a kubelet replacement the node stays NotReady. */
  stayNotReady: boolean;
  /** How many times the node went from schedulable to unschedulable. */
  cordons: number;
}

export interface FixturePod {
  namespace: string;
  name: string;
  node: string;
  labels: Record<string, string>;
  owner: 'ReplicaSet' | 'DaemonSet' | null;
}

export interface FixtureBudget {
  namespace: string;
  matchLabels: Record<string, string>;
  minAvailable: number;
}

export interface FixtureOptions {
  version: string;
  controlPlane?: number;
  workers: number;
  token?: string;
  /** How long a node stays NotReady after its kubelet is replaced. */
  readyAfterMs?: number;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  json(res, code, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    code,
  });
}

async function bodyOf(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as unknown) : {};
}

export class KubernetesApiFixture {
  readonly nodes = new Map<string, FixtureNode>();
  readonly pods = new Map<string, FixturePod>();
  readonly budgets: FixtureBudget[] = [];
  /** Every eviction the API answered, by node: what a drain asked. */
  readonly evictions: Array<{ pod: string; node: string; status: number }> = [];
  serverVersion: string;
  private server: Server | undefined;
  private readonly token: string;
  private readonly readyAfterMs: number;
  private podSeq = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  url = '';

  constructor(options: FixtureOptions) {
    this.serverVersion = options.version;
    this.token = options.token ?? 'fixture-token';
    this.readyAfterMs = options.readyAfterMs ?? 50;
    for (let i = 0; i < (options.controlPlane ?? 1); i++) {
      this.addNode(`control-plane-${i}`, 'control-plane');
    }
    for (let i = 0; i < options.workers; i++) this.addNode(`worker-${i}`, 'worker');
  }

  private addNode(name: string, role: FixtureNode['role']): void {
    this.nodes.set(name, {
      name,
      role,
      unschedulable: false,
      ready: true,
      kubeletVersion: this.serverVersion,
      stayNotReady: false,
      cordons: 0,
    });
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) =>
        status(res, 500, 'InternalError', error instanceof Error ? error.message : String(error)),
      );
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    await new Promise<void>((resolve) => {
      this.server?.closeAllConnections();
      this.server?.close(() => resolve());
    });
  }

  kubeconfig(): string {
    return JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      // plain HTTP on loopback: client-node allows it only with TLS verification off
      clusters: [
        { name: 'fixture', cluster: { server: this.url, 'insecure-skip-tls-verify': true } },
      ],
      users: [{ name: 'admin', user: { token: this.token } }],
      contexts: [{ name: 'fixture', context: { cluster: 'fixture', user: 'admin' } }],
      'current-context': 'fixture',
    });
  }

  // ---- setting the scene ----------------------------------------------------------------------

  addPod(pod: Omit<FixturePod, 'name'> & { name?: string }): FixturePod {
    const full: FixturePod = { ...pod, name: pod.name ?? `pod-${++this.podSeq}` };
    this.pods.set(`${full.namespace}/${full.name}`, full);
    return full;
  }

  addBudget(budget: FixtureBudget): void {
    this.budgets.push(budget);
  }

  stayNotReady(node: string): void {
    this.node(node).stayNotReady = true;
  }

  podsOn(node: string): FixturePod[] {
    return [...this.pods.values()].filter((p) => p.node === node);
  }

  private node(name: string): FixtureNode {
    const node = this.nodes.get(name);
    if (!node) throw new Error(`fixture: no node ${name}`);
    return node;
  }

  // ---- what the machines do --------------------------------------------------------------------

  replaceKubelet(name: string, version: string): void {
    const node = this.node(name);
    node.kubeletVersion = version;
    node.ready = false;
    if (node.stayNotReady) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      node.ready = true;
    }, this.readyAfterMs);
    this.timers.add(timer);
  }

  setControlPlaneVersion(version: string): void {
    this.serverVersion = version;
    for (const node of this.nodes.values()) {
      if (node.role === 'control-plane') node.kubeletVersion = version;
    }
  }

  // ---- the API ---------------------------------------------------------------------------------

  private nodeObject(n: FixtureNode) {
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: n.name,
        labels: {
          'kubernetes.io/hostname': n.name,
          ...(n.role === 'control-plane' ? { 'node-role.kubernetes.io/control-plane': '' } : {}),
        },
      },
      spec: n.unschedulable ? { unschedulable: true } : {},
      status: {
        conditions: [
          {
            type: 'Ready',
            status: n.ready ? 'True' : 'False',
            reason: n.ready ? 'KubeletReady' : 'KubeletNotReady',
          },
        ],
        nodeInfo: {
          kubeletVersion: n.kubeletVersion,
          kubeProxyVersion: n.kubeletVersion,
          architecture: 'amd64',
          bootID: '',
          containerRuntimeVersion: 'containerd://1.7.0',
          kernelVersion: '6.1.0',
          machineID: '',
          operatingSystem: 'linux',
          osImage: 'Debian GNU/Linux 12',
          systemUUID: '',
        },
      },
    };
  }

  private podObject(p: FixturePod) {
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: p.name,
        namespace: p.namespace,
        labels: p.labels,
        ...(p.owner
          ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: p.owner, name: 'owner', uid: 'u' }] }
          : {}),
      },
      spec: { nodeName: p.node, containers: [{ name: 'main', image: 'app' }] },
      status: { phase: 'Running' },
    };
  }

  private budgetAllows(pod: FixturePod): boolean {
    for (const b of this.budgets) {
      if (b.namespace !== pod.namespace) continue;
      const matches = (p: FixturePod) =>
        p.namespace === b.namespace &&
        Object.entries(b.matchLabels).every(([k, v]) => p.labels[k] === v);
      if (!matches(pod)) continue;
      const healthy = [...this.pods.values()].filter(
        (p) => matches(p) && this.nodes.get(p.node)?.ready === true,
      ).length;
      if (healthy - 1 < b.minAvailable) return false;
    }
    return true;
  }

  /** A ReplicaSet's pod comes back on another schedulable Ready worker, if there is one. */
  private remove(pod: FixturePod): void {
    this.pods.delete(`${pod.namespace}/${pod.name}`);
    if (pod.owner !== 'ReplicaSet') return;
    const target = [...this.nodes.values()].find(
      (n) => n.role === 'worker' && !n.unschedulable && n.ready && n.name !== pod.node,
    );
    if (target) this.addPod({ ...pod, name: undefined, node: target.name });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fixture');
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (path.startsWith('/_fixture/')) {
      const body = (await bodyOf(req)) as { version?: string };
      const kubelet = /^\/_fixture\/nodes\/([^/]+)\/kubelet$/.exec(path);
      if (method === 'POST' && kubelet && body.version) {
        if (!this.nodes.has(kubelet[1])) return status(res, 404, 'NotFound', 'no such node');
        this.replaceKubelet(kubelet[1], body.version);
        return json(res, 200, {});
      }
      if (method === 'POST' && path === '/_fixture/control-plane' && body.version) {
        this.setControlPlaneVersion(body.version);
        return json(res, 200, {});
      }
      return status(res, 404, 'NotFound', 'no such fixture route');
    }

    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return status(res, 401, 'Unauthorized', 'Unauthorized');
    }
    if (method === 'GET' && path === '/version') {
      const [major, minor] = this.serverVersion.replace(/^v/, '').split('.');
      return json(res, 200, {
        major,
        minor,
        gitVersion: this.serverVersion,
        gitCommit: '',
        gitTreeState: 'clean',
        buildDate: '2026-01-01T00:00:00Z',
        goVersion: 'go1.22',
        compiler: 'gc',
        platform: 'linux/amd64',
      });
    }
    if (method === 'GET' && path === '/api/v1/nodes') {
      return json(res, 200, {
        apiVersion: 'v1',
        kind: 'NodeList',
        metadata: {},
        items: [...this.nodes.values()].map((n) => this.nodeObject(n)),
      });
    }
    const nodeRoute = /^\/api\/v1\/nodes\/([^/]+)$/.exec(path);
    if (nodeRoute) {
      const node = this.nodes.get(nodeRoute[1]);
      if (!node) return status(res, 404, 'NotFound', `nodes "${nodeRoute[1]}" not found`);
      if (method === 'GET') return json(res, 200, this.nodeObject(node));
      if (method === 'PATCH') {
        if (!String(req.headers['content-type']).includes('merge-patch+json')) {
          return status(res, 415, 'UnsupportedMediaType', 'a merge patch is expected');
        }
        const patch = (await bodyOf(req)) as { spec?: { unschedulable?: boolean } };
        const next = patch.spec?.unschedulable === true;
        if (next && !node.unschedulable) node.cordons += 1;
        node.unschedulable = next;
        return json(res, 200, this.nodeObject(node));
      }
      if (method === 'DELETE') {
        this.nodes.delete(node.name);
        return json(res, 200, { kind: 'Status', apiVersion: 'v1', status: 'Success' });
      }
    }
    if (method === 'GET' && path === '/api/v1/pods') {
      const selector = url.searchParams.get('fieldSelector') ?? '';
      const onNode = /^spec\.nodeName=(.+)$/.exec(selector)?.[1];
      const items = [...this.pods.values()].filter((p) => !onNode || p.node === onNode);
      return json(res, 200, {
        apiVersion: 'v1',
        kind: 'PodList',
        metadata: {},
        items: items.map((p) => this.podObject(p)),
      });
    }
    const eviction = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/eviction$/.exec(path);
    if (method === 'POST' && eviction) {
      await bodyOf(req);
      const pod = this.pods.get(`${eviction[1]}/${eviction[2]}`);
      if (!pod) return status(res, 404, 'NotFound', `pods "${eviction[2]}" not found`);
      if (!this.budgetAllows(pod)) {
        this.evictions.push({ pod: pod.name, node: pod.node, status: 429 });
        return status(
          res,
          429,
          'TooManyRequests',
          "Cannot evict pod as it would violate the pod's disruption budget.",
        );
      }
      this.evictions.push({ pod: pod.name, node: pod.node, status: 201 });
      this.remove(pod);
      return json(res, 201, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        code: 201,
      });
    }
    const podRoute = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(path);
    if (method === 'DELETE' && podRoute) {
      const pod = this.pods.get(`${podRoute[1]}/${podRoute[2]}`);
      if (!pod) return status(res, 404, 'NotFound', `pods "${podRoute[2]}" not found`);
      this.remove(pod);
      return json(res, 200, this.podObject(pod));
    }
    return status(res, 404, 'NotFound', `the fixture does not serve ${method} ${path}`);
  }
}
