export * from './cluster';
export * from './upgrade';
export * from './versions';
export * from './backup';
