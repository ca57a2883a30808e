import { Inject } from '@nestjs/common';

/** The AppConfig (src/config/config.ts): `@Inject(APP_CONFIG) config: AppConfig`. */
export const APP_CONFIG = Symbol('APP_CONFIG');
/** The application's `pg` Pool on the Nimbus database. */
export const PG_POOL = Symbol('PG_POOL');
/** Which PostgreSQL the application runs on: a `DatabaseInfo`. */
export const DATABASE_INFO = Symbol('DATABASE_INFO');
/** The root pino logger; prefer Nest's `Logger`, which writes through it. */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

export const InjectConfig = (): ParameterDecorator & PropertyDecorator => Inject(APP_CONFIG);
export const InjectPool = (): ParameterDecorator & PropertyDecorator => Inject(PG_POOL);
