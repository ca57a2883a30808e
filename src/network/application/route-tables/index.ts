import { AddRouteHandler } from './add-route';
import { AssociateSubnetHandler } from './associate-subnet';
import { CreateRouteTableHandler } from './create-route-table';
import { DeleteRouteTableHandler } from './delete-route-table';
import { DisassociateSubnetHandler } from './disassociate-subnet';
import { RemoveRouteHandler } from './remove-route';

export { AddRoute, type AddRouteRequest } from './add-route';
export { AssociateSubnet } from './associate-subnet';
export {
  CreateRouteTable,
  type CreateRouteTableRequest,
  type RouteTableChanged,
} from './create-route-table';
export { DeleteRouteTable } from './delete-route-table';
export { DisassociateSubnet } from './disassociate-subnet';
export { RemoveRoute } from './remove-route';
export { ROUTE_TARGET_TABLES, RouteTargets } from './route-targets';

/** The route table use cases' handlers (providers of NetworkModule). */
export const ROUTE_TABLE_USE_CASES = [
  CreateRouteTableHandler,
  DeleteRouteTableHandler,
  AddRouteHandler,
  RemoveRouteHandler,
  AssociateSubnetHandler,
  DisassociateSubnetHandler,
];
