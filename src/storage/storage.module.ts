import { Logger, Module } from '@nestjs/common';

import { redact } from '../config/config';
import { FilesystemBlobStore } from '../drivers/blobs/filesystem-blob-store';
import { S3BlobStore } from '../drivers/blobs/s3-blob-store';
import { IdentityModule } from '../identity/identity.module';
import { SERVER_KEYS } from '../identity/identity.tokens';
import type { ServerKeys } from '../identity/keys/server-keys';
import { provideQuotas } from '../platform/quotas/quota.service';
import { APP_CONFIG } from '../platform/tokens';
import {
  ACCESS_KEY_SECRETS,
  ACCESS_KEY_USE_CASES,
  AccessKeyQueries,
  AccessKeySecrets,
} from './application/access-keys';
import { BUCKET_USE_CASES } from './application/buckets';
import { MULTIPART_USE_CASES } from './application/multipart';
import { OBJECT_USE_CASES } from './application/objects';
import { StorageAccess } from './application/storage-access';
import { LifecycleExpiration } from './application/lifecycle-expiration';
import { StorageLifecycle } from './application/storage-lifecycle';
import {
  STORAGE_OPTIONS,
  storageOptionsFrom,
  type StorageOptions,
} from './application/storage-options';
import { StorageQueries } from './application/storage-queries';
import { STORAGE_QUOTAS, StoredBytesQuota } from './application/storage-quotas';
import { AccessKeysController } from './http/access-keys.controller';
import { BucketsController } from './http/buckets.controller';
import { ObjectsController } from './http/objects.controller';
import { BLOB_STORE, type BlobStore } from './ports/blob-store';
import { S3Endpoint } from './s3/s3-endpoint';

/**
 * Object storage: buckets, object versions and multipart uploads (metadata in events), their
 * bytes in the blob store (`NIMBUS_BLOB_STORE`: the filesystem adapter under
 * `<NIMBUS_DATA_DIR>/blobs`, or a bucket of an S3-compatible cluster). Needs
 * ProjectionsModule (global) for its read models.
 */
@Module({
  imports: [IdentityModule],
  controllers: [AccessKeysController, BucketsController, ObjectsController],
  providers: [
    { provide: STORAGE_OPTIONS, useFactory: storageOptionsFrom, inject: [APP_CONFIG] },
    {
      provide: BLOB_STORE,
      inject: [STORAGE_OPTIONS],
      useFactory: (options: StorageOptions): BlobStore => {
        const logger = new Logger('drivers');
        if (options.blobS3) {
          const store = new S3BlobStore(options.blobS3);
          logger.log(`blob store: s3 at ${redact(options.blobS3.url)}`);
          return store;
        }
        logger.log(`blob store: filesystem under ${options.blobRoot}`);
        return new FilesystemBlobStore(options.blobRoot);
      },
    },
    {
      provide: ACCESS_KEY_SECRETS,
      inject: [SERVER_KEYS],
      useFactory: (keys: ServerKeys) => new AccessKeySecrets(keys.masterKeyring.current.key),
    },
    provideQuotas('storage', STORAGE_QUOTAS),
    AccessKeyQueries,
    ...ACCESS_KEY_USE_CASES,
    StorageAccess,
    StoredBytesQuota,
    StorageQueries,
    StorageLifecycle,
    LifecycleExpiration,
    S3Endpoint,
    ...BUCKET_USE_CASES,
    ...OBJECT_USE_CASES,
    ...MULTIPART_USE_CASES,
  ],
  exports: [S3Endpoint, LifecycleExpiration],
})
export class StorageModule {}
