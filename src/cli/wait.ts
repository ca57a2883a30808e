import { SingleBar } from 'cli-progress';
import { NimbusApiError, type NimbusClient } from '../sdk/client';
import { callOperation, type OperationId } from '../sdk/operations';
import type { CliIo } from './io';

/** How `--wait` follows a resource until it settles. */
export interface WaitSpec {
  /** The get operation of the resource (one path parameter, its id). */
  get: OperationId;
  /** States in which the wait ends well. */
  until: string[];
  /** States in which it ends badly (exit 1 with the reason). */
  failed?: string[];
  /** A 404 ends the wait well (a delete); otherwise a 404 is the read model not there yet. */
  gone?: boolean;
  /** Fields that say why a resource failed, first non-empty wins (`error_reason`). */
  reason?: string[];
  /** The usual order of states, for the progress bar. */
  steps?: string[];
  /** The state field (default `status`). */
  field?: string;
}

const WAIT_TIMEOUT_MS = 10 * 60_000;
const POLL_MS = 1000;

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/**
 * Polls the resource until it reaches one of `spec.until`, with a progress bar showing its
 * state when stdout is a terminal (nothing otherwise). A failed state throws NimbusApiError
 * `resource_failed` carrying the resource's reason.
 */
export async function waitFor(
  api: NimbusClient,
  kind: string,
  id: string,
  spec: WaitSpec,
  io: CliIo,
): Promise<unknown> {
  const field = spec.field ?? 'status';
  const steps = spec.steps ?? spec.until;
  const bar = io.stdout.isTTY
    ? new SingleBar({
        format: `${kind} {id} [{bar}] {state} {duration}s`,
        hideCursor: true,
        stream: io.stdout,
      })
    : null;
  bar?.start(steps.length, 0, { id: id.slice(0, 8), state: '...' });
  const deadline = Date.now() + WAIT_TIMEOUT_MS;
  try {
    for (;;) {
      let resource: Record<string, unknown> | undefined;
      try {
        resource = record(await callOperation(api, spec.get, { path: { id } }));
      } catch (error) {
        if (!(error instanceof NimbusApiError) || error.status !== 404) throw error;
        if (spec.gone) return { id, [field]: 'gone' };
      }
      if (resource) {
        const state = String(resource[field]);
        const settled = spec.until.includes(state);
        bar?.update(Math.max(0, steps.indexOf(state)) + (settled ? 1 : 0), { state });
        if (settled) return resource;
        if (spec.failed?.includes(state)) {
          const reason = (spec.reason ?? [])
            .map((name) => resource[name])
            .find((v) => typeof v === 'string' && v.length > 0);
          throw new NimbusApiError(
            409,
            'resource_failed',
            `${kind} ${id} is ${state}: ${typeof reason === 'string' ? reason : 'no reason given'}`,
            { [field]: state, reason: reason ?? null },
          );
        }
      }
      if (Date.now() > deadline) {
        throw new NimbusApiError(
          408,
          'wait_timeout',
          `${kind} ${id} did not reach ${spec.until.join('|')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    bar?.stop();
  }
}
