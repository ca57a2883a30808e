import { CreateVpcHandler } from './create-vpc';
import { DeleteVpcHandler } from './delete-vpc';

export { CreateVpc, type CreateVpcRequest, type VpcChanged } from './create-vpc';
export { DeleteVpc } from './delete-vpc';
export { VPC_DEPENDENT_TABLES, VpcDependentsReader } from './vpc-dependents';
export { newVpcIds, VpcProvisioning, type NewVpc } from './vpc-provisioning';

/** The VPC use cases' handlers (providers of NetworkModule). */
export const VPC_USE_CASES = [CreateVpcHandler, DeleteVpcHandler];
