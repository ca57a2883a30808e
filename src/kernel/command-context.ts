/** Who acts: a user, an API key or the system. */
export type ActorType = 'user' | 'api_key' | 'system';

export interface Actor {
  type: ActorType;
  id: string;
}

/** Who asks, on whose behalf, from where: becomes the metadata of every event the command appends. */
export interface CommandContext {
  /** Unique per command; a retried command reuses it so its events keep their ids. */
  commandId: string;
  tenantId: string | null;
  actor: Actor;
  requestId: string | null;
  sourceIp: string | null;
  correlationId: string;
  causationId: string | null;
  /** When the command was accepted; stamped on every event as occurredAt. */
  now: Date;
  /** The revision the caller last saw (If-Match); a mismatch is 412 and appends nothing. */
  ifMatch?: bigint;
}
