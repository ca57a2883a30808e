/** The networking context's pure domain: CIDR rules and the deciders. No I/O, no framework. */
export * from './cidr';
export * from './rules';
export * from './arn';
export * from './default-vpc';
export * from './vpc';
export * from './subnet';
export * from './security-group';
export * from './route-table';
export * from './internet-gateway';
export * from './elastic-ip';
export * from './nat-gateway';
export * from './vpc-peering';
export * from './public-address-pool';
export * from './fabric-specs';
