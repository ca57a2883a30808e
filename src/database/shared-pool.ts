import type { Pool, PoolClient } from 'pg';

type ConnectCallback = (err: Error | undefined, client: PoolClient, release: () => void) => void;

/**
 * A `driver` for TypeORM's postgres DataSource that hands it an existing `pg` Pool instead of
 * letting it open one of its own: the DataSource's "pool" is a view of `pool` that connects
 * through it and whose `end()` leaves it open (the pool's owner ends it once, last).
 *
 *   new DataSource({ type: 'postgres', url, driver: driverOnPool(pool) })
 */
interface PoolView {
  connect(callback: ConnectCallback): void;
  on(): PoolView;
  end(callback?: (err?: Error) => void): void;
}

export function driverOnPool(pool: Pool): { Pool: new () => unknown } {
  const view: PoolView = {
    connect(callback: ConnectCallback): void {
      pool.connect(callback as Parameters<Pool['connect']>[0]);
    },
    // The owner listens for the pool's errors.
    on(): PoolView {
      return view;
    },
    end(callback?: (err?: Error) => void): void {
      callback?.();
    },
  };
  // TypeORM calls `new driver.Pool(options)`: a constructor that returns an object yields it.
  function PoolOnExisting(): PoolView {
    return view;
  }
  return { Pool: PoolOnExisting as unknown as new () => unknown };
}
