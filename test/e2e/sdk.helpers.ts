/**
 * Calls through the generated SDK that e2e files share: a refusal expected, and the VPCs a test
 * made deleted with their subnets.
 */
import { NimbusApiError, unwrap, type NimbusClient } from '../../src/sdk/client';

/** The error of a call that must be refused; throws when it succeeds. */
export async function refusal(
  call: Promise<{ data?: unknown; error?: unknown; response: Response }>,
): Promise<NimbusApiError> {
  try {
    unwrap(await call);
  } catch (error) {
    if (error instanceof NimbusApiError) return error;
    throw error;
  }
  throw new Error('expected the call to be refused');
}

/** Deletes each VPC's subnets, then the VPC (best effort: for a test's clean-up). */
export async function deleteVpcs(sdk: NimbusClient, vpcIds: readonly string[]): Promise<void> {
  for (const vpcId of vpcIds) {
    const subnets = await sdk.GET('/vpcs/{vpcId}/subnets', { params: { path: { vpcId } } });
    for (const s of (subnets.data as Array<{ id: string }> | undefined) ?? []) {
      await sdk.DELETE('/subnets/{id}', { params: { path: { id: s.id } } });
    }
    await sdk.DELETE('/vpcs/{id}', { params: { path: { id: vpcId } } });
  }
}
