/** The DetectedDrivers chosen at start-up: `@Inject(DETECTED_DRIVERS) drivers: DetectedDrivers`. */
export const DETECTED_DRIVERS = Symbol('DETECTED_DRIVERS');
/** A Dockerode client on the configured socket. Use it only when drivers.docker.active is 'docker'. */
export const DOCKER_CLIENT = Symbol('DOCKER_CLIENT');
/** The Exec function drivers run commands with (execCommand; tests may provide another). */
export const EXEC = Symbol('EXEC');
/** The DriversModuleOptions given to DriversModule.forRoot. */
export const DRIVERS_OPTIONS = Symbol('DRIVERS_OPTIONS');
