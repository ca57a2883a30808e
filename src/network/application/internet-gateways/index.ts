import { AttachInternetGatewayHandler } from './attach-internet-gateway';
import { CreateInternetGatewayHandler } from './create-internet-gateway';
import { DeleteInternetGatewayHandler } from './delete-internet-gateway';
import { DetachInternetGatewayHandler } from './detach-internet-gateway';

export { AttachInternetGateway } from './attach-internet-gateway';
export { CreateInternetGateway, type InternetGatewayChanged } from './create-internet-gateway';
export { DeleteInternetGateway } from './delete-internet-gateway';
export { DetachInternetGateway } from './detach-internet-gateway';

/** The internet gateway use cases' handlers (providers of NetworkModule). */
export const INTERNET_GATEWAY_USE_CASES = [
  CreateInternetGatewayHandler,
  AttachInternetGatewayHandler,
  DetachInternetGatewayHandler,
  DeleteInternetGatewayHandler,
];
