import { SetMetadata } from '@nestjs/common';

/**
 * The route needs no credential (sign-up, health, the API description). Declared here, below
 * every context, so that platform routes such as /health can be public without depending on
 * identity; the identity module's guard reads the mark.
 */
export const PUBLIC_ROUTE = 'nimbus:auth:public';

/** No credential needed (the guard still rate-limits when asked to). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);
