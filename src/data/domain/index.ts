export * from './cache';
export * from './rules';
export * from './database';
export * from './parameters';
export * from './snapshot';
