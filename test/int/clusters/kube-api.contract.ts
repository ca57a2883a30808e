/**
 * The contract of `KubernetesApi` as the upgrade saga relies on it, run by kube-contract.spec.ts
 * against the fixture (always) and against a real cluster (when one is given).
 */
import { describe, expect, it } from 'vitest';

import type { KubernetesApi } from '../../../src/clusters/ports/kubernetes';

export function kubernetesApiContract(
  name: string,
  api: () => Promise<KubernetesApi>,
  skipReason?: string,
): void {
  if (skipReason) {
    console.warn(`\n[clusters] SKIPPING the KubernetesApi contract on ${name}: ${skipReason}\n`);
  }
  describe.skipIf(skipReason !== undefined)(`KubernetesApi contract (${name})`, () => {
    it('answers the API server version and lists nodes with their role, Ready condition and kubelet version', async () => {
      const k = await api();
      expect(await k.serverVersion()).toMatch(/^v\d+\.\d+\.\d+/);
      const nodes = await k.listNodes();
      expect(nodes.length).toBeGreaterThan(0);
      for (const n of nodes) {
        expect(n.kubeletVersion).toMatch(/^v\d+\.\d+\.\d+/);
        expect(typeof n.ready).toBe('boolean');
      }
      expect(await k.getNode('no-such-node-0')).toBeNull();
    });

    it('cordons and uncordons a worker through spec.unschedulable, answering what it was', async () => {
      const k = await api();
      const worker = (await k.listNodes()).find((n) => n.role === 'worker' && !n.unschedulable);
      if (!worker) throw new Error(`${name}: the contract needs a schedulable worker`);
      expect(await k.setUnschedulable(worker.name, true)).toEqual({ was: false });
      expect((await k.getNode(worker.name))?.unschedulable).toBe(true);
      expect(await k.setUnschedulable(worker.name, true)).toEqual({ was: true });
      expect(await k.setUnschedulable(worker.name, false)).toEqual({ was: true });
      expect((await k.getNode(worker.name))?.unschedulable).toBe(false);
    });

    it('lists the pods of a node; evicting a pod that does not exist is "gone"', async () => {
      const k = await api();
      const worker = (await k.listNodes()).find((n) => n.role === 'worker');
      if (!worker) throw new Error(`${name}: the contract needs a worker`);
      expect(Array.isArray(await k.podsOn(worker.name))).toBe(true);
      expect(
        await k.evict({ namespace: 'default', name: 'nimbus-contract-absent', drainExempt: false }),
      ).toBe('gone');
    });

    it('deleting a node object that does not exist succeeds and changes nothing', async () => {
      const k = await api();
      const before = (await k.listNodes()).map((n) => n.name).sort();
      await k.deleteNode('nimbus-contract-absent-node');
      expect((await k.listNodes()).map((n) => n.name).sort()).toEqual(before);
    });
  });
}
