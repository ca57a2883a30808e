import { uuidV5 } from '../../common/ids';
import type { CommandContext } from '../../kernel/command-context';
import type { SecretOwner } from '../domain';

/**
 * What other contexts use to keep their resources' credentials in the secrets store (a
 * database's password, a cache's): bound by SecretsModule, which exports it.
 */
export interface SecretStore {
  /**
   * Creates the secret, or rotates it to `value` when one of that name exists (saga steps run
   * again after a crash, rotations): idempotent when the value is already the current one.
   */
  put(
    input: {
      tenantId: string;
      name: string;
      value: string;
      owner: SecretOwner;
      description: string;
    },
    ctx: CommandContext,
  ): Promise<{ secretId: string; version: number }>;
  /** The current value, or null when there is no such secret. */
  reveal(tenantId: string, name: string): Promise<string | null>;
  /** Deletes it; no-op when absent. */
  remove(tenantId: string, name: string, ctx: CommandContext): Promise<void>;
}

export const SECRET_STORE = Symbol('SECRET_STORE');

/** A name's secret id: one stream per (tenant, name), so names are unique per tenant. */
export function secretIdFor(tenantId: string, name: string): string {
  return uuidV5(`secret/${tenantId}/${name}`);
}
