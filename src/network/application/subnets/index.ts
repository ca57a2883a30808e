import { CreateSubnetHandler } from './create-subnet';
import { DeleteSubnetHandler } from './delete-subnet';

export { CreateSubnet, type CreateSubnetRequest, type SubnetChanged } from './create-subnet';
export { DeleteSubnet } from './delete-subnet';
export { SubnetProvisioning, type NewSubnet } from './subnet-provisioning';

/** The subnet use cases' handlers (providers of NetworkModule). */
export const SUBNET_USE_CASES = [CreateSubnetHandler, DeleteSubnetHandler];
