/**
 * The OpenAPI document as a product: built from the code (no server), structurally valid
 * OpenAPI 3.0, every schema compilable by ajv, every operation with an SDK-grade operationId, a
 * success schema and a declared tag; and the committed src/sdk/openapi.json and api-types.ts
 * are what the code generates now.
 */
import { readFileSync } from 'node:fs';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  generatedSpecText,
  generatedTypesText,
  SPEC_PATH,
  TYPES_PATH,
} from '../../scripts/generate-sdk';
import { OPERATION_ID_PATTERN } from '../../src/platform/http/api-operation';
import {
  openApiAjv,
  operationsOf,
  type OpenApiDocument,
  responseValidator,
  type OpenApiOperation,
} from '../support/openapi-validator';
import { driftOf } from '../support/openapi-contract';

const FIX =
  "declare it with @ApiOperationFor({ id: 'verbResource', summary, response: <zod schema or class>, errors }) from src/platform/http/api-operation.ts";

let specText: string;
let document: OpenApiDocument & { tags: Array<{ name: string }> };

beforeAll(async () => {
  specText = await generatedSpecText();
  document = JSON.parse(specText) as typeof document;
});

function label(method: string, path: string, operation: OpenApiOperation): string {
  return `${method.toUpperCase()} ${path} (${operation.operationId ?? 'no operationId'})`;
}

describe('the OpenAPI document', () => {
  it('gives every operation a success response with a schema (or 204, or a file)', () => {
    const missing = operationsOf(document)
      .filter(({ operation }) => {
        const success = Object.entries(operation.responses ?? {}).filter(([s]) => /^2/.test(s));
        return !success.some(
          ([status, response]) =>
            status === '204' ||
            Object.values(response.content ?? {}).some((media) => media.schema !== undefined),
        );
      })
      .map(({ method, path, operation }) => `${label(method, path, operation)}: ${FIX}`);
    expect(missing, missing.join('\n')).toEqual([]);
  });

  it('names every operation as an SDK method (camelCase verb + resource), once', () => {
    const seen = new Map<string, string>();
    const problems: string[] = [];
    for (const { method, path, operation } of operationsOf(document)) {
      const id = operation.operationId ?? '';
      if (!OPERATION_ID_PATTERN.test(id)) {
        problems.push(`${label(method, path, operation)}: generated operationId; ${FIX}`);
      } else if (seen.has(id)) {
        problems.push(
          `${label(method, path, operation)}: operationId also used by ${seen.get(id)}`,
        );
      }
      seen.set(id, `${method.toUpperCase()} ${path}`);
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('tags every operation with a family declared in API_TAGS (src/platform/openapi.ts)', () => {
    const declared = new Set(document.tags.map((t) => t.name));
    const problems = operationsOf(document)
      .filter(({ operation }) => {
        const tags = operation.tags ?? [];
        return tags.length === 0 || tags.some((t) => !declared.has(t));
      })
      .map(
        ({ method, path, operation }) =>
          `${label(method, path, operation)}: tags ${JSON.stringify(operation.tags ?? [])}; add @ApiTags('<family>') and declare the family in API_TAGS`,
      );
    expect(problems, problems.join('\n')).toEqual([]);
  });

  it('is valid OpenAPI 3.0 (structure of every object, Redocly struct rule)', async () => {
    const config = await createConfig({ rules: { struct: 'error' } });
    const problems = await lintFromString({
      source: specText,
      absoluteRef: 'openapi.json',
      config,
    });
    const lines = problems.map((p) => `${p.location[0]?.pointer ?? ''}: ${p.message}`);
    expect(lines, lines.join('\n')).toEqual([]);
  });

  it(
    'has schemas ajv compiles strictly (every component and every response body)',
    { timeout: 60_000 },
    () => {
      const ajv = openApiAjv(document);
      for (const name of Object.keys(document.components.schemas)) {
        expect(() => ajv.getSchema(`openapi.json#/components/schemas/${name}`), name).not.toThrow();
      }
      const check = responseValidator(document);
      for (const { method, path, operation } of operationsOf(document)) {
        for (const [status, response] of Object.entries(operation.responses ?? {})) {
          if (!response.content?.['application/json']?.schema) continue;
          // Compiles the body's schema; the value checked does not matter here.
          expect(
            () => check(operation.operationId ?? '', Number(status), null),
            `${label(method, path, operation)} ${status}`,
          ).not.toThrow();
        }
      }
    },
  );
});

describe('the committed SDK (run `npm run sdk:generate` after changing a route or a schema)', () => {
  it('src/sdk/openapi.json is the document the code builds', () => {
    const committed = JSON.parse(readFileSync(SPEC_PATH, 'utf8')) as OpenApiDocument;
    const changed = driftOf(committed, document);
    expect(
      changed,
      `src/sdk/openapi.json is out of date; run \`npm run sdk:generate\` and commit src/sdk/. Differences:\n${changed.join('\n')}`,
    ).toEqual([]);
  });

  it(
    'src/sdk/api-types.ts is what openapi-typescript generates from it',
    { timeout: 60_000 },
    async () => {
      const committed = readFileSync(SPEC_PATH, 'utf8');
      const types = await generatedTypesText(committed);
      expect(
        readFileSync(TYPES_PATH, 'utf8') === types,
        'src/sdk/api-types.ts is out of date; run `npm run sdk:generate` and commit src/sdk/',
      ).toBe(true);
    },
  );
});
