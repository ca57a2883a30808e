import type { FastifyReply } from 'fastify';

import { setEtag } from '../../common/etag';
import { RequireAction } from '../../identity/auth/decorators';
import type { Outcome } from '../../platform/commands/use-case';
import type { Found } from '../application/edge-queries';

/**
 * The IAM action of a networking route (declared in IAM_ACTIONS with its description); its
 * resource ARN is `arn:nimbus:vpc:<tenant>:<type>/<id>`.
 */
export function NetworkAction(
  action: string,
  description: string,
  resource?: { type: string; param?: string },
): MethodDecorator {
  return RequireAction(action, {
    description,
    ...(resource ? { resource: { ...resource, service: 'vpc' } } : {}),
  });
}

/**
 * The answer of a command route once its read-your-writes wait is done: the resource as the read
 * model shows it, with its ETag; when the read model did not catch up in time, 202 with a
 * Location and the id only.
 */
export async function afterWrite<V>(args: {
  reply: FastifyReply;
  outcome: Outcome<unknown>;
  location: string;
  status: 200 | 201 | 202;
  read: () => Promise<Found<V>>;
  id: string;
}): Promise<V | { id: string; status: 'PENDING' }> {
  const { caughtUp } = args.outcome;
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
