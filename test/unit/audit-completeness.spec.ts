/**
 * The audit catalog is complete: every event type any decider (or other writer) emits is audited
 * or deliberately not audited, and the catalog names no event that nothing emits.
 *
 * The emitted types are read from the code itself, independently of the descriptors: the
 * TypeScript compiler finds every decider in the sources (an exported object with `category`,
 * `initialState`, `evolve` and `decide`) and reads the event union of its `evolve`. Events written
 * outside deciders (the auth guard's AccessDenied, the saga runtime's Saga* events) are listed by
 * their writers' union types. A new decider without a descriptor fails here too.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { AuditActionCatalog } from '../../src/audit/domain/actions';
import {
  audited,
  notAudited,
  resourceKind,
  type ResourceKind,
} from '../../src/platform/resources/resource-kind';
import {
  ResourceCatalog,
  ResourceCatalogError,
} from '../../src/platform/resources/resource-catalog';
import { reportDecider } from '../../src/reports/domain/report';
import { APP_RESOURCE_CATALOG } from '../../src/resource-kinds';

const ROOT = join(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.spec.ts')) out.push(path);
  }
  return out;
}

/** The `type` literals of a union of `{ type: 'X'; data: ... }`. */
function eventTypesOf(checker: ts.TypeChecker, union: ts.Type, at: ts.Node): string[] {
  const members = union.isUnion() ? union.types : [union];
  return members.flatMap((member) => {
    const type = member.getProperty('type');
    if (!type) return [];
    const literal = checker.getTypeOfSymbolAtLocation(type, at);
    const literals = literal.isUnion() ? literal.types : [literal];
    return literals.flatMap((l) => (l.isStringLiteral() ? [l.value] : []));
  });
}

interface Writer {
  name: string;
  types: string[];
}

/** Every decider of the code base and the event types its `evolve` accepts. */
function emittedByDeciders(): Writer[] {
  const files = [...sourceFiles(join(ROOT, 'src')), ...sourceFiles(join(ROOT, 'sagas'))];
  const program = ts.createProgram(files, {
    strict: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    experimentalDecorators: true,
    skipLibCheck: true,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  const writers: Writer[] = [];
  for (const file of program.getSourceFiles()) {
    if (file.isDeclarationFile || !files.includes(file.fileName)) continue;
    const moduleSymbol = checker.getSymbolAtLocation(file);
    if (!moduleSymbol) continue;
    for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
      const declaration = symbol.valueDeclaration;
      if (!declaration || !ts.isVariableDeclaration(declaration)) continue;
      const type = checker.getTypeOfSymbolAtLocation(symbol, declaration);
      const evolve = type.getProperty('evolve');
      if (!['category', 'initialState', 'decide'].every((p) => type.getProperty(p)) || !evolve) {
        continue;
      }
      const signature = checker
        .getTypeOfSymbolAtLocation(evolve, declaration)
        .getCallSignatures()[0];
      const eventParameter = signature?.getParameters()[1];
      if (!eventParameter) continue;
      const union = checker.getTypeOfSymbolAtLocation(eventParameter, declaration);
      writers.push({
        name: `${relative(ROOT, file.fileName)}:${symbol.getName()}`,
        types: eventTypesOf(checker, union, declaration),
      });
    }
  }
  return writers;
}

describe('audit completeness', () => {
  const deciders = emittedByDeciders();
  const catalog = APP_RESOURCE_CATALOG;

  it('finds the deciders in the code', () => {
    const names = deciders.map((d) => d.name.split(':')[1]);
    expect(names).toEqual(
      expect.arrayContaining(['instanceDecider', 'imageDecider', 'userDecider', 'webhookDecider']),
    );
    for (const d of deciders) expect(d.types.length, d.name).toBeGreaterThan(0);
  });

  it("classifies every decider's every event type, and names nothing that is not emitted", () => {
    // Writers that are not deciders: the auth guard and the saga runtime.
    const others = [
      'AccessDenied',
      ...Object.keys(catalog.kindOfEventType('SagaStarted')?.events ?? {}),
    ];
    expect(others).toContain('SagaFailed');
    const emitted = [...deciders.flatMap((d) => d.types), ...others];
    expect(catalog.audit.drift(emitted)).toEqual({ unclassified: [], notEmitted: [] });
    // And the descriptors declare exactly these types.
    expect(catalog.emittedEventTypes()).toEqual([...new Set(emitted)].sort());
  });

  it('would have caught the drift of the hand-written catalog', () => {
    // The catalog as it was: names four events nothing emits, misses four that are emitted.
    const old = new AuditActionCatalog()
      .register(
        ['InstanceUpdated', 'InstanceRebootRequested', 'ImageUploaded', 'ImageImportRequested'].map(
          (eventType) => ({
            eventType,
            action: 'OLD_ACTION',
            description: 'as listed by hand',
            context: 'compute',
            resourceKind: 'instance',
            confirmed: false,
          }),
        ),
      )
      .ignore([{ eventType: 'InstanceCapacityReserved', context: 'compute', reason: 'quota' }]);
    const emitted = deciders.flatMap((d) => d.types);
    const drift = old.drift(emitted);
    expect(drift.notEmitted).toEqual([
      'ImageImportRequested',
      'ImageUploaded',
      'InstanceRebootRequested',
      'InstanceUpdated',
    ]);
    expect(drift.unclassified).toEqual(
      expect.arrayContaining([
        'InstanceRenamed',
        'InstanceTagsChanged',
        'InstanceRebooted',
        'ImageImportStarted',
        'InstanceVolumesChangeRequested',
        'InstanceVolumesChanged',
      ]),
    );
  });

  it('audits renames, tag changes, reboots, uploads and imports', () => {
    for (const type of ['InstanceRenamed', 'InstanceTagsChanged', 'InstanceRebooted']) {
      expect(catalog.audit.entryFor(type)?.resourceKind, type).toBe('instance');
    }
    expect(catalog.audit.entryFor('ImageImportStarted')?.action).toBe('IMAGE_IMPORT');
    expect(catalog.audit.isIgnored('InstanceVolumesChanged')).toBe(true);
  });
});

describe('resource-kind descriptors', () => {
  const reports = (events: ResourceKind['events']): ResourceKind => ({
    context: 'reports',
    family: 'report',
    category: 'report',
    readModel: null,
    actions: { REPORT_GENERATE: 'A report was requested.' },
    events,
  });

  it('do not compile when an event type is missing or unknown, or an action undeclared', () => {
    resourceKind(reportDecider, {
      context: 'reports',
      family: 'report',
      readModel: null,
      actions: { REPORT_GENERATE: 'A report was requested.' },
      // @ts-expect-error ReportRequested is not classified
      events: {},
    });
    resourceKind(reportDecider, {
      context: 'reports',
      family: 'report',
      readModel: null,
      actions: { REPORT_GENERATE: 'A report was requested.' },
      events: {
        ReportRequested: audited('REPORT_GENERATE'),
        // @ts-expect-error the decider never emits ReportDeleted
        ReportDeleted: notAudited('no such event'),
      },
    });
    resourceKind(reportDecider, {
      context: 'reports',
      family: 'report',
      readModel: null,
      actions: { REPORT_GENERATE: 'A report was requested.' },
      // @ts-expect-error REPORT_DELETE has no description in `actions`
      events: { ReportRequested: audited('REPORT_DELETE') },
    });
  });

  it('refuse an event type or a stream category declared twice, and an action no event uses', () => {
    const one = reports({ ReportRequested: audited('REPORT_GENERATE') });
    expect(() => new ResourceCatalog([one, { ...one, category: 'other' }])).toThrow(
      ResourceCatalogError,
    );
    expect(() => new ResourceCatalog([one, { ...one, events: {} }])).toThrow(/category report/);
    expect(
      () => new ResourceCatalog([reports({ ReportRequested: notAudited('not audited') })]),
    ).toThrow(/no event is audited as REPORT_GENERATE/);
  });

  it('list every emitted event type for GET /events/types, saga events included', () => {
    const types = APP_RESOURCE_CATALOG.eventTypes();
    const byType = new Map(types.map((t) => [t.type, t]));
    for (const type of [
      'InstanceRenamed',
      'InstanceTagsChanged',
      'InstanceRebooted',
      'ImageImportStarted',
      'ImageImported',
      'InstanceStarted',
      'InstanceStopped',
      'InstanceTerminated',
      'InstanceContainerCreated',
      'InstanceNetworkAttached',
      'SagaStarted',
      'SagaCompleted',
      'PriceSet',
    ]) {
      expect(byType.has(type), type).toBe(true);
    }
    expect(byType.get('InstanceRenamed')).toEqual({
      type: 'InstanceRenamed',
      context: 'compute',
      family: 'instance',
      audited: true,
      action: 'INSTANCE_RENAME',
      description: 'An instance was renamed.',
    });
    expect(byType.get('SagaStarted')).toMatchObject({ audited: false, action: null });
    expect(types.map((t) => t.type)).toEqual(APP_RESOURCE_CATALOG.emittedEventTypes());
  });

  it('name the timeline resource of a stream by its family', () => {
    expect(APP_RESOURCE_CATALOG.resourceOfStream('apikey-k-1')).toBe('api_key/k-1');
    expect(APP_RESOURCE_CATALOG.resourceOfStream('instance-i-1')).toBe('instance/i-1');
    expect(APP_RESOURCE_CATALOG.resourceOfStream('unknown-x')).toBe('unknown/x');
  });

  it('classify the billing meter from the descriptors', () => {
    expect(APP_RESOURCE_CATALOG.meteringOf('InstanceStarted')).toEqual({
      family: 'instance',
      meter: 'instance-hours',
      role: 'start',
      resourceIdField: 'instanceId',
    });
    expect(APP_RESOURCE_CATALOG.meteringOf('VolumeDeleted')?.role).toBe('stop');
    expect(APP_RESOURCE_CATALOG.meteringOf('InstanceVolumesChanged')).toBeUndefined();
    expect(APP_RESOURCE_CATALOG.meteringOf('InstanceCapacityReserved')).toBeUndefined();
  });

  it('read an event with every meter of its family; a further meter needs a usageKey', () => {
    const cluster = { family: 'cluster', resourceIdField: 'clusterId' };
    const nodes = { ...cluster, meter: 'node-hours', usageKey: 'nodes' };
    expect(APP_RESOURCE_CATALOG.meteringsOf('ClusterProvisioned')).toEqual([
      { ...cluster, meter: 'cluster-hours', role: 'start' },
      { ...nodes, role: 'start' },
    ]);
    expect(APP_RESOURCE_CATALOG.meteringsOf('ClusterOperationFinished')).toEqual([
      { ...nodes, role: 'quantity' },
    ]);
    expect(APP_RESOURCE_CATALOG.meteringsOf('ClusterScaleRequested')).toEqual([]);
    expect(APP_RESOURCE_CATALOG.meteringsOf('InstanceStarted')).toHaveLength(1);
    const billed = (usageKey?: string) => ({
      ...reports({ ReportRequested: audited('REPORT_GENERATE') }),
      billing: [
        {
          meter: 'cluster-hours',
          resourceIdField: 'reportId',
          events: { ReportRequested: 'start' },
        },
        {
          meter: 'node-hours',
          resourceIdField: 'reportId',
          events: { ReportRequested: 'start' },
          ...(usageKey ? { usageKey } : {}),
        },
      ] as const,
    });
    expect(() => new ResourceCatalog([billed()])).toThrow(/node-hours needs a usageKey/);
    expect(new ResourceCatalog([billed('x')]).meteringsOf('ReportRequested')).toHaveLength(2);
  });
});
