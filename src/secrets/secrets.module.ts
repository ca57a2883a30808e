import { Module } from '@nestjs/common';

import { IdentityModule } from '../identity/identity.module';
import { SERVER_KEYS } from '../identity/identity.tokens';
import type { ServerKeys } from '../identity/keys/server-keys';
import { SECRET_SEALER, SecretsService } from './application/secrets.service';
import { SecretSealer } from './application/secret-sealer';
import { SECRET_USE_CASES } from './application/use-cases';
import { SecretsController } from './http/secrets.controller';
import { SECRET_STORE } from './ports/secret-store';

/**
 * /secrets, and the SecretStore port (SECRET_STORE) other contexts keep credentials in. Values are
 * sealed with a data key of their own wrapped by the server's master keyring.
 */
@Module({
  imports: [IdentityModule],
  controllers: [SecretsController],
  providers: [
    {
      provide: SECRET_SEALER,
      inject: [SERVER_KEYS],
      useFactory: (keys: ServerKeys) => new SecretSealer(keys.masterKeyring),
    },
    SecretsService,
    { provide: SECRET_STORE, useExisting: SecretsService },
    ...SECRET_USE_CASES,
  ],
  exports: [SECRET_STORE],
})
export class SecretsModule {}
