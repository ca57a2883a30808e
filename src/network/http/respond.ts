import type { FastifyReply } from 'fastify';
import { setEtag } from '../../common/etag';
import type { Outcome } from '../../platform/commands/use-case';
import type { Found } from '../application/network-queries';

/**
 * The answer of a command route once the command bus has answered: the resource as the read
 * model shows it, with its ETag; when the read model did not catch up in time, 202 with a
 * Location and the id only.
 */
export async function afterWrite<V>(args: {
  reply: FastifyReply;
  outcome: Outcome<unknown>;
  location: string;
  status: 200 | 201;
  read: () => Promise<Found<V>>;
  id: string;
}): Promise<V | { id: string }> {
  if (args.status === 201 || !args.outcome.caughtUp) {
    void args.reply.header('location', args.location);
  }
  if (!args.outcome.caughtUp) {
    void args.reply.status(202);
    return { id: args.id };
  }
  void args.reply.status(args.status);
  const found = await args.read();
  setEtag(args.reply, found.revision);
  return found.view;
}
