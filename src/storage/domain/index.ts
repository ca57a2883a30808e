export * from './bucket';
export * from './bucket-name';
export * from './bucket-names';
export * from './multipart';
export * from './object';
export * from './access-key';
