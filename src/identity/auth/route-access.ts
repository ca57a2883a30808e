/**
 * Which access each route declares (decorators.ts), found by walking the application's
 * controllers. At start-up the identity module logs the routes that declare nothing: they still
 * require a credential, but no IAM action guards them.
 */
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import type { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import {
  AUTHENTICATED_ONLY,
  OPERATOR_ONLY,
  PUBLIC_ROUTE,
  REQUIRED_ACTION,
  type RequiredAction,
} from './decorators';

export interface RouteAccess {
  method: string;
  path: string;
  access: 'public' | 'operator' | 'authenticated' | 'action' | 'undeclared';
  action: string | null;
}

function joinPath(...parts: Array<string | string[] | undefined>): string {
  const flat = parts.map((p) => (Array.isArray(p) ? (p[0] ?? '') : (p ?? '')));
  const joined = flat
    .map((p) => p.replace(/^\/+|\/+$/g, ''))
    .filter((p) => p.length > 0)
    .join('/');
  return `/${joined}`;
}

export function declaredAccessOfRoutes(
  discovery: DiscoveryService,
  scanner: MetadataScanner,
  reflector: Reflector,
): RouteAccess[] {
  const out: RouteAccess[] = [];
  for (const wrapper of discovery.getControllers()) {
    const instance = wrapper.instance as Record<string, unknown> | undefined;
    const type = wrapper.metatype as (new (...args: never[]) => unknown) | null;
    if (!instance || !type) continue;
    const prototype = Object.getPrototypeOf(instance) as object;
    const base = Reflect.getMetadata(PATH_METADATA, type) as string | string[] | undefined;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = (prototype as Record<string, unknown>)[name];
      if (typeof handler !== 'function') continue;
      const path = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
      if (path === undefined) continue;
      const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
      const targets = [handler, type];
      const meta = <T>(key: string) => reflector.getAllAndOverride<T | undefined>(key, targets);
      const required = meta<RequiredAction>(REQUIRED_ACTION);
      const access: RouteAccess['access'] = meta<boolean>(PUBLIC_ROUTE)
        ? 'public'
        : meta<boolean>(OPERATOR_ONLY)
          ? 'operator'
          : required
            ? 'action'
            : meta<boolean>(AUTHENTICATED_ONLY)
              ? 'authenticated'
              : 'undeclared';
      out.push({
        method: RequestMethod[method ?? RequestMethod.GET],
        path: joinPath(base, path),
        access,
        action: required?.action ?? null,
      });
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}
