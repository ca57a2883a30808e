import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';

import { BLOB_STORE, type BlobStore } from '../ports/blob-store';
import { StorageAccess } from './storage-access';
import { STORAGE_OPTIONS, type StorageOptions } from './storage-options';

const SWEEP_INTERVAL_MS = 15 * 60 * 1000;

/**
 * Start-up and background work of object storage: before the application serves, the blob store
 * removes the temporary files of uploads a crash interrupted; then, periodically, blobs older than
 * the grace period that no version or part references (a crash between a blob's write and its
 * event) are removed.
 */
@Injectable()
export class StorageLifecycle implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('storage');
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    @Inject(STORAGE_OPTIONS) private readonly options: StorageOptions,
    private readonly access: StorageAccess,
  ) {}

  async onModuleInit(): Promise<void> {
    const { temporaryFilesRemoved } = await this.blobs.recover();
    if (temporaryFilesRemoved > 0) {
      this.logger.warn(
        `removed ${temporaryFilesRemoved} interrupted upload(s) from the blob store`,
      );
    }
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Removes unreferenced blobs past the grace period (tests may shorten it); returns how many. */
  async sweep(olderThanMs = this.options.orphanGraceMs): Promise<number> {
    try {
      const removed = await this.blobs.sweepOrphans(
        (ids) => this.access.referencedBlobs(ids),
        olderThanMs,
      );
      if (removed > 0) this.logger.log(`removed ${removed} unreferenced blob(s)`);
      return removed;
    } catch (err) {
      this.logger.error(`the blob sweep failed: ${(err as Error).message}`);
      return 0;
    }
  }
}
