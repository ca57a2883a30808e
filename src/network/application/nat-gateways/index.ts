import { CreateNatGatewayHandler } from './create-nat-gateway';
import { DeleteNatGatewayHandler } from './delete-nat-gateway';

export { CreateNatGateway, type NatGatewayChanged } from './create-nat-gateway';
export { DeleteNatGateway } from './delete-nat-gateway';

/** The NAT gateway use cases' handlers (providers of NetworkModule). */
export const NAT_GATEWAY_USE_CASES = [CreateNatGatewayHandler, DeleteNatGatewayHandler];
