import type { FastifyReply } from 'fastify';
import { setEtag } from '../../common/etag';
import type { Outcome } from '../commands/use-case';

/** A resource as its read model shows it, with the stream revision its ETag carries. */
export interface Found<V> {
  view: V;
  revision: string;
}

/**
 * The answer of a command route once the command bus has answered (its read-your-writes wait is
 * done): the resource as the read model shows it, with its ETag; when the read model did not
 * catch up in time, 202 with a Location and the id only.
 */
export async function afterWrite<V, A extends object = object>(args: {
  reply: FastifyReply;
  outcome: Outcome<unknown>;
  location: string;
  /** 201 for a creation, 202 for an accepted long operation, else 200. */
  status: 200 | 201 | 202;
  read: () => Promise<Found<V>>;
  id: string;
  /** What the 202 body carries besides the id (a family whose states include `PENDING` says so). */
  accepted?: A;
}): Promise<V | ({ id: string } & A)> {
  const { caughtUp } = args.outcome;
  if (args.status !== 200 || !caughtUp) void args.reply.header('location', args.location);
  if (!caughtUp) {
    void args.reply.status(202);
    return { id: args.id, ...(args.accepted as A) };
  }
  void args.reply.status(args.status);
  const found = await args.read();
  setEtag(args.reply, found.revision);
  return found.view;
}
