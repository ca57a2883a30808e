export * from './canonical-json';
export * from './keys';
export * from './chain';
export * from './verifier';
export * from './entry';
