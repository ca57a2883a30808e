import { AnswerVpcPeeringHandler } from './answer-vpc-peering';
import { DeleteVpcPeeringHandler } from './delete-vpc-peering';
import { RequestVpcPeeringHandler } from './request-vpc-peering';

export { AnswerVpcPeering } from './answer-vpc-peering';
export { DeleteVpcPeering } from './delete-vpc-peering';
export { RequestVpcPeering, type VpcPeeringChanged } from './request-vpc-peering';

/** The VPC peering use cases' handlers (providers of NetworkModule). */
export const VPC_PEERING_USE_CASES = [
  RequestVpcPeeringHandler,
  AnswerVpcPeeringHandler,
  DeleteVpcPeeringHandler,
];
