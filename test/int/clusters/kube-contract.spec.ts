/**
 * `KubeClientApi` (@kubernetes/client-node) against the Kubernetes-API fixture, and against a real
 * cluster when NIMBUS_TEST_KUBECONFIG (a kubeconfig file) and NIMBUS_K8S_NODE_IMAGE are given, as
 * the production kubeadm driver's suite; without them that part says loudly that it is skipped
 * (no Kubernetes distribution can be installed on this machine).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';

import { KubeClientApi } from '../../../src/clusters/drivers/kube-client-api';
import { KubernetesApiFixture } from '../../support/k8s-api-fixture';
import { kubernetesApiContract } from './kube-api.contract';

let fixture: KubernetesApiFixture;
beforeAll(async () => {
  fixture = await new KubernetesApiFixture({ version: 'v1.29.0', workers: 1 }).start();
});
afterAll(async () => {
  await fixture?.stop();
});

kubernetesApiContract('the Kubernetes-API fixture', () =>
  KubeClientApi.fromKubeconfig(fixture.kubeconfig()),
);

const kubeconfig = process.env.NIMBUS_TEST_KUBECONFIG;
const nodeImage = process.env.NIMBUS_K8S_NODE_IMAGE;
kubernetesApiContract(
  'a real cluster (NIMBUS_TEST_KUBECONFIG)',
  () => KubeClientApi.fromKubeconfig(readFileSync(kubeconfig ?? '', 'utf8')),
  kubeconfig && nodeImage
    ? undefined
    : 'NIMBUS_TEST_KUBECONFIG and NIMBUS_K8S_NODE_IMAGE are not both set (no Kubernetes cluster nor node image on this machine)',
);
