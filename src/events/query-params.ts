export { parseInstantParam } from '../common/instant-param';
