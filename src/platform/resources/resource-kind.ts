/**
 * Resource-kind descriptors: what each bounded context declares about each of its resource
 * families, in the context's own `resources.ts`, so that no central file lists another context's
 * events. The audit catalog, the timeline, point-in-time state, the billing meter classification
 * and `GET /events/types` are all derived from the descriptors (`ResourceCatalog`).
 *
 * A descriptor is bound to the decider (or other writer) of its events, and its `events` table is
 * typed `Record<Event['type'], ...>`: it names every event type the writer can emit, exactly once,
 * and each is either audited under an action or deliberately not audited with a reason. Adding an
 * event to a decider's union without classifying it, or naming one it does not emit, does not
 * compile.
 *
 * Framework-free: no Nest, no database.
 */
import type { AuditStatus, AuditableEvent } from '../../audit/domain/actions';
import type { MeterName } from '../../billing/domain/meter';

/** How the audit log treats one event type. */
export type AuditRule<TAction extends string = string> =
  { readonly action: TAction; readonly status?: AuditStatus } | { readonly ignored: string };

/** Audited under `action` (`success` unless a status is given). */
export function audited<TAction extends string>(
  action: TAction,
  status?: AuditStatus,
): AuditRule<TAction> {
  return status ? { action, status } : { action };
}

/** Deliberately not audited: `reason` says why (internal bookkeeping, another event carries it...). */
export function notAudited(reason: string): { readonly ignored: string } {
  return { ignored: reason };
}

/**
 * What an event means for the billing meter of its family:
 * - `open`: the resource appears (remember tenant and name; a volume's usage starts here too),
 * - `rename`: its display name changes,
 * - `start`: usage starts at the price of its type,
 * - `reprice`: usage continues at another type's price,
 * - `quantity`: usage continues in another quantity (a cluster's worker count after a scale),
 * - `stop`: usage stops,
 * - `adjust`: the metered quantity changes by `quantityDelta(event)` (a bucket's stored bytes);
 *   usage runs while the quantity is above zero.
 */
export type MeterRole = 'open' | 'rename' | 'start' | 'reprice' | 'quantity' | 'stop' | 'adjust';

export interface BillingMeterSpec<TType extends string, E extends KindEvent = KindEvent> {
  meter: MeterName;
  /** The event data field that holds the metered resource's id. */
  resourceIdField: string;
  /** The events the meter reads; event types the family emits that are absent are not billed. */
  events: Readonly<Partial<Record<TType, MeterRole>>>;
  /**
   * Set on every meter of a family but its first (`billing` as a list): the meter's usage is kept
   * and reported under its own id, uuid v5 of `<resource id>/<usageKey>` (a cluster's worker
   * nodes under `<cluster id>/nodes`), since usage is keyed by resource id and start instant.
   */
  usageKey?: string;
  /** What an `adjust` event adds to (or, negative, takes from) the metered quantity. */
  quantityDelta?(event: E): number;
}

/** A family's meters: one, or several (a cluster's control plane and its worker nodes). */
export type BillingSpec<TType extends string, E extends KindEvent = KindEvent> =
  BillingMeterSpec<TType, E> | readonly BillingMeterSpec<TType, E>[];

/** The meters of a `billing` declaration, as a list. */
export function billingMeters<TType extends string, E extends KindEvent = KindEvent>(
  billing: BillingSpec<TType, E> | undefined,
): readonly BillingMeterSpec<TType, E>[] {
  if (!billing) return [];
  return isMeterList(billing) ? billing : [billing];
}

function isMeterList<TType extends string, E extends KindEvent>(
  billing: BillingSpec<TType, E>,
): billing is readonly BillingMeterSpec<TType, E>[] {
  return Array.isArray(billing);
}

/** A resource folded from its events, as point-in-time state presents it. */
export interface FoldedResource<S> {
  state: S;
  revision: bigint;
  /** Details the decision state does not keep but the API shows (names, creation time...). */
  details: Record<string, unknown>;
}

/** A stored event, as much of it as the folds need. */
export interface KindEvent {
  type: string;
  data: unknown;
}

/** How `GET /tenants/:id/state?as_of=` folds and shows the family. */
export interface PointInTimeSpec<S> {
  /** Field of the response holding the family (`instances`); one object instead of a list when `single`. */
  field: string;
  single?: boolean;
  initial(): S;
  evolve(state: S, event: KindEvent): S;
  /** Remembers display details from the event data. */
  details?(details: Record<string, unknown>, event: KindEvent): void;
  /** The live GET route's shape, or null when the resource does not exist at that instant. */
  present(folded: FoldedResource<S>): unknown;
}

/** Overrides of the audit row for events whose resource is not their stream's (denials). */
export interface AuditRowOverrides {
  resourceOf?: (event: AuditableEvent) => string;
  actionOf?: (event: AuditableEvent) => string;
}

/** One resource family of a bounded context. */
export interface ResourceKind<TType extends string = string> {
  /** Owning bounded context: identity, compute, billing, webhooks... */
  readonly context: string;
  /** The family's name (`instance`); also what audit rows and the timeline call it (`instance/<id>`). */
  readonly family: string;
  /** Stream category: resource X lives in stream `<category>-<X>`. */
  readonly category: string;
  /** Every event type the family's writer emits, each audited or deliberately not. */
  readonly events: Readonly<Record<TType, AuditRule>>;
  /** The description of each audit action its events map to. */
  readonly actions: Readonly<Record<string, string>>;
  /** The read-model table its view is served from, null when it has none. */
  readonly readModel: string | null;
  readonly billing?: BillingSpec<TType>;
  readonly pointInTime?: PointInTimeSpec<unknown>;
  readonly audit?: AuditRowOverrides;
}

/**
 * The writer of a family's events: a decider (its `evolve` fixes the event union), or
 * `emittedBy<Union>(category)` for events written outside a decider (denials, saga runtime).
 */
export interface EventSource<E extends KindEvent> {
  readonly category: string;
  evolve?(state: never, event: E): unknown;
}

export function emittedBy<E extends KindEvent>(category: string): EventSource<E> {
  return { category };
}

export interface ResourceKindSpec<E extends KindEvent, A extends string, S> {
  context: string;
  family: string;
  actions: Readonly<Record<A, string>>;
  events: Readonly<Record<E['type'], AuditRule<NoInfer<A>>>>;
  readModel: string | null;
  billing?: BillingSpec<E['type'], E>;
  pointInTime?: PointInTimeSpec<S>;
  audit?: AuditRowOverrides;
}

/**
 * A descriptor bound to the writer of its events:
 *
 *   export const VOLUMES = resourceKind(volumeDecider, {
 *     context: 'compute', family: 'volume', readModel: 'compute_volumes',
 *     actions: { VOLUME_CREATE: 'A volume was created.', ... },
 *     events: { VolumeCreated: audited('VOLUME_CREATE'), ..., VolumeCapacityReserved: notAudited('quota') },
 *   });
 */
export function resourceKind<E extends KindEvent, A extends string, S = never>(
  source: EventSource<E>,
  spec: ResourceKindSpec<E, A, S>,
): ResourceKind<E['type']> {
  return { ...spec, category: source.category };
}
