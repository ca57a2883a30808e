import { AllocateElasticIpHandler } from './allocate-elastic-ip';
import { AssociateElasticIpHandler } from './associate-elastic-ip';
import { DisassociateElasticIpHandler } from './disassociate-elastic-ip';
import { ReleaseElasticIpHandler } from './release-elastic-ip';

export { AllocateElasticIp, type ElasticIpChanged } from './allocate-elastic-ip';
export { AssociateElasticIp } from './associate-elastic-ip';
export { DisassociateElasticIp } from './disassociate-elastic-ip';
export { ReleaseElasticIp } from './release-elastic-ip';

/** The elastic IP use cases' handlers (providers of NetworkModule). */
export const ELASTIC_IP_USE_CASES = [
  AllocateElasticIpHandler,
  AssociateElasticIpHandler,
  DisassociateElasticIpHandler,
  ReleaseElasticIpHandler,
];
