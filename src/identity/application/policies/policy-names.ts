/**
 * Which policy names a tenant has taken, for the 409 of POST /iam/policies, without a query per
 * create. It answers exactly what the policies read model holds, as the query it replaces did:
 *  - a tenant's names are loaded once (one query) and kept only while the policies projection
 *    runs in this process; elsewhere every call reads the read model;
 *  - the runner announces each committed batch before its checkpoint: a PolicyCreated adds its
 *    name to the tenant's set, a PolicyDeleted drops the tenant's set (it is read again when next
 *    needed), and a runner that starts, stops, fails or resets drops every set;
 *  - a load that overlapped a change of its tenant is used once and not kept.
 */
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { POLICIES_PROJECTION } from '../../../../projections/identity';
import type { ReadModelChange } from '../../../../projections/runtime/progress';
import { ProjectionRuntime } from '../../../../projections/runtime/projection-runtime';
import { IdentityReadModel } from '../../read-model/identity-read-model';

/** Tenants whose names are kept; past it every set is dropped (bounded memory, never stale). */
const MAX_TENANTS = 10_000;

@Injectable()
export class PolicyNames implements OnModuleDestroy {
  private readonly byTenant = new Map<string, Set<string>>();
  /** Changes seen per tenant (and in all), so that a load that overlapped one is not kept. */
  private readonly changes = new Map<string, number>();
  private resets = 0;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly readModel: IdentityReadModel,
    private readonly runtime: ProjectionRuntime,
  ) {
    this.unsubscribe = runtime.progress.subscribeChanges((change) => this.onChange(change));
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  /** True when a live policy of the tenant has this name (as the read model says). */
  async isTaken(tenantId: string, name: string): Promise<boolean> {
    if (!this.live()) return (await this.readModel.policyByName(tenantId, name)) !== null;
    const kept = this.byTenant.get(tenantId);
    if (kept) return kept.has(name);
    const before = this.version(tenantId);
    const names = new Set(await this.readModel.policyNames(tenantId));
    if (this.live() && this.version(tenantId) === before) {
      if (this.byTenant.size >= MAX_TENANTS) this.byTenant.clear();
      this.byTenant.set(tenantId, names);
    }
    return names.has(name);
  }

  private live(): boolean {
    return this.runtime.runner(POLICIES_PROJECTION)?.state === 'running';
  }

  private version(tenantId: string): string {
    return `${this.resets}/${this.changes.get(tenantId) ?? 0}`;
  }

  private onChange({ name, events }: ReadModelChange): void {
    if (name !== POLICIES_PROJECTION) return;
    if (events === 'unknown') {
      this.resets++;
      this.changes.clear();
      this.byTenant.clear();
      return;
    }
    for (const event of events) {
      if (event.type !== 'PolicyCreated' && event.type !== 'PolicyDeleted') continue;
      const data = event.data as { tenantId?: string; name?: string };
      if (typeof data.tenantId !== 'string') continue;
      this.changes.set(data.tenantId, (this.changes.get(data.tenantId) ?? 0) + 1);
      const kept = this.byTenant.get(data.tenantId);
      if (!kept) continue;
      if (event.type === 'PolicyCreated' && typeof data.name === 'string') kept.add(data.name);
      else this.byTenant.delete(data.tenantId);
    }
  }
}
