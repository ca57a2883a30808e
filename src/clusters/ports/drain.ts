/**
 * One pass of a drain, as `kubectl drain` does it: every pod on the node except DaemonSet and
 * mirror pods is evicted through the Eviction API (a PodDisruptionBudget that allows no
 * disruption answers 429: the pod stays, and the next pass tries again), or deleted when forced.
 */
import type { KubePod, KubernetesApi } from './kubernetes';

export interface DrainPass {
  /** Pods still on the node (blocked, or evicted and still terminating). */
  remaining: number;
  evicted: number;
  /** `namespace/name` of the pods whose eviction a budget refused. */
  blocked: string[];
}

export async function drainPass(
  api: KubernetesApi,
  node: string,
  force: boolean,
): Promise<DrainPass> {
  const pods = (await api.podsOn(node)).filter((p: KubePod) => !p.drainExempt);
  let evicted = 0;
  const blocked: string[] = [];
  for (const pod of pods) {
    if (force) {
      await api.deletePod(pod);
      evicted += 1;
      continue;
    }
    const outcome = await api.evict(pod);
    if (outcome === 'evicted') evicted += 1;
    if (outcome === 'blocked') blocked.push(`${pod.namespace}/${pod.name}`);
  }
  const left = (await api.podsOn(node)).filter((p) => !p.drainExempt).length;
  return { remaining: left, evicted, blocked };
}
