/**
 * Amazon-style resource names of the networking context: `arn:nimbus:vpc:local:<tenant>:<kind>/<id>`
 * (`vpc/…`, `subnet/…`, `security-group/…`, `route-table/…`, `igw/…`, `eip/…`, `nat-gateway/…`,
 * `vpc-peering/…`). Pure.
 */
export type NetworkArnKind =
  | 'vpc'
  | 'subnet'
  | 'security-group'
  | 'route-table'
  | 'igw'
  | 'eip'
  | 'nat-gateway'
  | 'vpc-peering';

export function networkArn(tenantId: string, kind: NetworkArnKind, id: string): string {
  return `arn:nimbus:vpc:local:${tenantId}:${kind}/${id}`;
}
