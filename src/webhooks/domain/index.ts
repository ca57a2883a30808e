export * from './signing';
export * from './retry';
export * from './url-safety';
