import type { FastifyReply } from 'fastify';
import { ProjectionWaiter } from '../../../projections/runtime/projection-waiter';
import { setEtag } from '../../common/etag';
import type { Position } from '../../kernel/position';
import type { Found } from '../application/compute-queries';

/**
 * Read-your-writes for a command route: waits (bounded) until `projection` has applied the
 * command's position, then answers with the resource as the read model shows it and its ETag.
 * Past the bound: 202 with a Location and the id only.
 */
export async function afterWrite<V>(args: {
  waiter: ProjectionWaiter;
  reply: FastifyReply;
  position: Position | null;
  projection: string;
  location: string;
  /** 201 for a creation, 202 for an accepted long operation, else 200. */
  status: 200 | 201 | 202;
  read: () => Promise<Found<V>>;
  id: string;
}): Promise<V | { id: string; status: 'PENDING' }> {
  const caughtUp =
    args.position === null ||
    (await args.waiter.waitFor(
      args.position,
      [args.projection],
      args.waiter.readYourWritesTimeoutMs,
    ));
  if (args.status !== 200 || !caughtUp) void args.reply.header('location', args.location);
  if (!caughtUp) {
    void args.reply.status(202);
    return { id: args.id, status: 'PENDING' };
  }
  void args.reply.status(args.status);
  const found = await args.read();
  setEtag(args.reply, found.revision);
  return found.view;
}
