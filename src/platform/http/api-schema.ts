import { z } from 'zod';

/**
 * Building blocks of response schemas. A response schema is a zod schema with an `id` in its
 * metadata (`.meta({ id: 'Instance' })`): the id names its component in the OpenAPI document,
 * `z.output<typeof Schema>` types the handler that returns it, and the live-response test
 * validates real bodies against the document (objects refuse fields they do not declare).
 */

/** A UUID as the API prints it (lower-case, any version). */
export const uuid = (description?: string) =>
  z.string().meta({ format: 'uuid', ...(description ? { description } : {}) });

/** An RFC 3339 instant in UTC (`2026-01-31T12:00:00.000Z`). */
export const timestamp = (description?: string) =>
  z.string().meta({
    format: 'date-time',
    example: '2026-01-31T12:00:00.000Z',
    ...(description ? { description } : {}),
  });

/** `{ message }`: the answer of an action that has nothing else to say. */
export const MessageSchema = z
  .object({ message: z.string() })
  .meta({ id: 'Message', example: { message: 'done' } });

/** `{ message, id }`: a resource removed. */
export const DeletedSchema = z.object({ message: z.string(), id: uuid() }).meta({
  id: 'Deleted',
  example: { message: 'volume deleted', id: '0f5c9e4e-2d1a-4c55-9a57-3b1e9b7c2f10' },
});

/**
 * The 202 body of a command whose read model had not caught up within the read-your-writes
 * bound: the id (and PENDING where the resource has a status); GET the `Location` for the rest.
 */
export const AcceptedSchema = z
  .object({ id: uuid(), status: z.literal('PENDING').optional() })
  .meta({
    id: 'Accepted',
    description:
      'The command is recorded but the read model has not caught up yet: GET the Location header.',
    example: { id: '0f5c9e4e-2d1a-4c55-9a57-3b1e9b7c2f10', status: 'PENDING' },
  });

export const PageInfoSchema = z
  .object({
    limit: z.number().int().min(1),
    next_cursor: z.string().nullable().meta({ description: 'Pass as `cursor` for the next page' }),
    has_more: z.boolean(),
  })
  .meta({ id: 'PageInfo' });

/**
 * A list route's body: a bare array by default, or `{ items, page }` when the caller asks
 * `envelope=true` or pages with a `cursor` (the query parameters of `PageQuery`).
 */
export function pageOf<S extends z.ZodType>(item: S) {
  const id = z.globalRegistry.get(item)?.id;
  if (!id) throw new Error('pageOf: the item schema needs an id in its metadata');
  const envelope = z
    .object({ items: z.array(item), page: PageInfoSchema })
    .meta({ id: `${id}Page`, description: `A page of ${id} (envelope=true or a cursor)` });
  return z.union([z.array(item), envelope]);
}

/** The body a route declares with `@ApiOperationFor({ response })`. */
export type ResponseBody<S extends z.ZodType> = z.output<S>;

/** The body of a list route declared with `page: true`. */
export type ResponsePage<S extends z.ZodType> =
  z.output<S>[] | { items: z.output<S>[]; page: z.output<typeof PageInfoSchema> };
