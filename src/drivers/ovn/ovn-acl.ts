/**
 * Security groups as OVN ACLs on the group's port group, stateful through `allow-related`:
 *
 *   priority 1001  from-lport  inport == @pg && ip4                      allow-related (all egress)
 *   priority 1001  to-lport    outport == @pg && ip4 && <rule>           allow-related (each rule)
 *   priority 1000  to-lport    outport == @pg && ip4                     drop (the rest of ingress)
 *
 * Replies to allowed traffic pass in both directions (OVN lets established connections through
 * ahead of every ACL). Non-IP traffic (ARP) is not filtered. An egress rule is recorded as its
 * own ACL too, so that egress can be narrowed later without changing the rules' shape; with the
 * default egress ACL it admits nothing new.
 */
import type { SecurityRuleSpec } from '../../network/ports/network-fabric';
import { checkedCidr, ovnNames } from './ovn-names';

export const ACL_PRIORITY_ALLOW = 1001;
export const ACL_PRIORITY_DEFAULT_DROP = 1000;

export interface AclDefinition {
  direction: 'from-lport' | 'to-lport';
  priority: number;
  match: string;
  action: 'allow-related' | 'drop';
}

export function defaultGroupAcls(groupId: string): { egress: AclDefinition; drop: AclDefinition } {
  const pg = ovnNames.portGroup(groupId);
  return {
    egress: {
      direction: 'from-lport',
      priority: ACL_PRIORITY_ALLOW,
      match: `inport == @${pg} && ip4`,
      action: 'allow-related',
    },
    drop: {
      direction: 'to-lport',
      priority: ACL_PRIORITY_DEFAULT_DROP,
      match: `outport == @${pg} && ip4`,
      action: 'drop',
    },
  };
}

function checkedPort(port: number): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`not a port number: ${port}`);
  }
  return port;
}

/** The ACL of one rule. Inputs are checked, since they are spliced into a match expression. */
export function ruleAcl(rule: SecurityRuleSpec): AclDefinition {
  const pg = ovnNames.portGroup(rule.groupId);
  const ingress = rule.direction === 'ingress';
  const terms = [ingress ? `outport == @${pg}` : `inport == @${pg}`, 'ip4'];

  const peerField = ingress ? 'ip4.src' : 'ip4.dst';
  if (rule.peer.kind === 'group') {
    terms.push(`${peerField} == $${ovnNames.portGroup(rule.peer.groupId)}_ip4`);
  } else if (checkedCidr(rule.peer.cidr) !== '0.0.0.0/0') {
    terms.push(`${peerField} == ${rule.peer.cidr}`);
  }

  switch (rule.protocol) {
    case 'all':
      break;
    case 'icmp':
      terms.push('icmp4');
      break;
    case 'tcp':
    case 'udp': {
      terms.push(rule.protocol);
      if (rule.portMin !== null || rule.portMax !== null) {
        const min = checkedPort(rule.portMin ?? 0);
        const max = checkedPort(rule.portMax ?? 65535);
        if (min > max) throw new Error(`port range ${min}-${max} is empty`);
        terms.push(
          min === max
            ? `${rule.protocol}.dst == ${min}`
            : `${rule.protocol}.dst >= ${min} && ${rule.protocol}.dst <= ${max}`,
        );
      }
      break;
    }
    default: {
      const unknown: never = rule.protocol;
      throw new Error(`unknown protocol ${String(unknown)}`);
    }
  }

  return {
    direction: ingress ? 'to-lport' : 'from-lport',
    priority: ACL_PRIORITY_ALLOW,
    match: terms.join(' && '),
    action: 'allow-related',
  };
}
