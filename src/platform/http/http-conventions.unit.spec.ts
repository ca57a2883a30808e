import { BadRequestException, HttpException, NotFoundException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { parseIfMatch } from '../../common/etag';
import { AppError } from '../../common/errors/app-error';
import { isValidIdempotencyKey, isValidRequestId } from '../../common/request-context';
import { canonicalJson, requestHashOf } from '../idempotency/idempotency.interceptor';
import { renderError } from './error-filter';
import { RouteTable } from './route-table';
import { fieldErrorsOf } from './validation';

describe('renderError', () => {
  it('keeps an AppError as it is', () => {
    const err = new AppError('rate_limited', 'slow down', { limit: 5 }, { 'retry-after': '3' });
    expect(renderError(err)).toEqual({
      status: 429,
      code: 'rate_limited',
      message: 'slow down',
      details: { limit: 5 },
      headers: { 'retry-after': '3' },
    });
  });

  it("maps Fastify's parser errors", () => {
    const fst = (code: string, status: number) =>
      new HttpException('x', status, {
        cause: Object.assign(new Error('x'), { code, statusCode: status }),
      });
    expect(renderError(fst('FST_ERR_CTP_INVALID_JSON_BODY', 400)).code).toBe('malformed_json');
    expect(renderError(fst('FST_ERR_CTP_BODY_TOO_LARGE', 413))).toMatchObject({
      status: 413,
      code: 'payload_too_large',
    });
    expect(renderError(fst('FST_ERR_CTP_INVALID_MEDIA_TYPE', 415))).toMatchObject({
      status: 415,
      code: 'unsupported_media_type',
    });
  });

  it('tells an unknown route from a missing resource', () => {
    expect(renderError(new NotFoundException('Cannot GET /nope')).code).toBe('route_not_found');
    expect(renderError(new NotFoundException('thing 3')).code).toBe('not_found');
  });

  it('maps other HttpExceptions by status', () => {
    expect(renderError(new BadRequestException('bad')).code).toBe('validation_error');
    expect(renderError(new HttpException('no', 403)).code).toBe('forbidden');
  });

  it('hides anything unexpected behind internal_error', () => {
    expect(renderError(new TypeError('db password is hunter2'))).toEqual({
      status: 500,
      code: 'internal_error',
      message: 'an unexpected error occurred',
    });
  });
});

describe('fieldErrorsOf', () => {
  it('gives full nested paths', () => {
    const errors = [
      {
        property: 'volumes',
        children: [
          {
            property: '0',
            children: [
              {
                property: 'mount_path',
                constraints: { isString: 'mount_path must be a string' },
                children: [],
              },
            ],
          },
        ],
      },
      { property: 'name', constraints: { isString: 'a', isNotEmpty: 'b' }, children: [] },
    ];
    expect(fieldErrorsOf(errors)).toEqual([
      { path: 'volumes.0.mount_path', message: 'mount_path must be a string' },
      { path: 'name', message: 'a; b' },
    ]);
  });
});

describe('header values', () => {
  it('If-Match', () => {
    expect(parseIfMatch(undefined)).toBeUndefined();
    expect(parseIfMatch('*')).toBeUndefined();
    expect(parseIfMatch('W/"12"')).toBe(12n);
    expect(parseIfMatch('"3"')).toBe(3n);
    expect(() => parseIfMatch('12')).toThrow(AppError);
    expect(() => parseIfMatch('W/"-1"')).toThrow(AppError);
  });

  it('request ids and idempotency keys', () => {
    expect(isValidRequestId('abc-123')).toBe(true);
    expect(isValidRequestId('')).toBe(false);
    expect(isValidRequestId('a'.repeat(129))).toBe(false);
    expect(isValidRequestId('tab\there')).toBe(false);
    expect(isValidIdempotencyKey('k'.repeat(255))).toBe(true);
    expect(isValidIdempotencyKey('k'.repeat(256))).toBe(false);
    expect(isValidIdempotencyKey('é')).toBe(false);
  });
});

describe('request hash', () => {
  it('ignores key order, not values, method or path', () => {
    const h = requestHashOf('POST', '/vpcs', { a: 1, b: { c: [1, 2], d: null } });
    expect(requestHashOf('POST', '/vpcs', { b: { d: null, c: [1, 2] }, a: 1 })).toBe(h);
    expect(requestHashOf('POST', '/vpcs', { a: 2, b: { c: [1, 2], d: null } })).not.toBe(h);
    expect(requestHashOf('POST', '/subnets', { a: 1, b: { c: [1, 2], d: null } })).not.toBe(h);
    expect(canonicalJson(undefined)).toBe('');
  });
});

describe('RouteTable', () => {
  it('lists the methods of the routes matching a concrete path', () => {
    const table = new RouteTable();
    table.add('/instances/:id', ['GET', 'HEAD']);
    table.add('/instances/:id', 'PATCH');
    table.add('/instances/:id/stop', 'POST');
    expect(table.allowedMethods('/instances/abc?x=1')).toEqual(['GET', 'HEAD', 'PATCH']);
    expect(table.allowedMethods('/instances/abc/stop')).toEqual(['POST']);
    expect(table.allowedMethods('/instances/abc/nope')).toEqual([]);
  });
});
