export * from './api-key-format';
export * from './encoding';
export * from './opaque-tokens';
export * from './password-hashing';
export * from './password-policy';
export * from './personal-data';
