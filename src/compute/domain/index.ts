/** The compute bounded context's pure domain: catalog, validation, quota and the deciders. */
export * from './instance-types';
export * from './validation';
export * from './quota';
export * from './instance';
export * from './image';
export * from './volume';
