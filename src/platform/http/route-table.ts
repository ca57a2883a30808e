import type { FastifyInstance } from 'fastify';

interface RouteEntry {
  pattern: RegExp;
  methods: Set<string>;
}

/**
 * Every route's URL pattern and methods, collected as routes are registered, so an unmatched
 * request can be told apart: a path no route has (404 `route_not_found`) or a known path asked
 * with a method it does not take (405 `method_not_allowed` with `Allow`).
 */
export class RouteTable {
  private readonly byUrl = new Map<string, RouteEntry>();

  add(url: string, methods: string | string[]): void {
    let entry = this.byUrl.get(url);
    if (!entry) {
      entry = { pattern: patternOf(url), methods: new Set() };
      this.byUrl.set(url, entry);
    }
    for (const m of Array.isArray(methods) ? methods : [methods]) entry.methods.add(m);
  }

  /** The methods some route takes on this concrete path (query ignored), sorted; [] if none. */
  allowedMethods(path: string): string[] {
    const bare = path.split('?')[0];
    const out = new Set<string>();
    for (const entry of this.byUrl.values()) {
      if (entry.pattern.test(bare)) for (const m of entry.methods) out.add(m);
    }
    return [...out].sort();
  }
}

function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) =>
      segment.startsWith(':')
        ? '[^/]+'
        : segment === '*'
          ? '.*'
          : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${source}/?$`);
}

const TABLES = new WeakMap<FastifyInstance, RouteTable>();

/** Starts collecting the routes of `fastify` (call before the routes are registered). */
export function collectRoutes(fastify: FastifyInstance): RouteTable {
  const table = new RouteTable();
  TABLES.set(fastify, table);
  fastify.addHook('onRoute', (route) => table.add(route.url, route.method));
  return table;
}

export function routeTableOf(fastify: FastifyInstance | undefined): RouteTable | undefined {
  return fastify ? TABLES.get(fastify) : undefined;
}
