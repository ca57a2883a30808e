/** The tenants' quota ledgers as a resource family (stream `quota-<tenantId>`). */
import { audited, notAudited, resourceKind } from '../resources/resource-kind';
import { quotaLedgerDecider } from './quota-ledger';

const BOOKKEEPING = 'quota bookkeeping of the command that creates or removes the resource';
const LEGACY = 'written by compute before quotas were a platform service; folded, never written';

export const QUOTA_LEDGERS = resourceKind(quotaLedgerDecider, {
  context: 'platform',
  family: 'quota',
  readModel: null,
  actions: { QUOTA_OVERRIDE: "An operator changed a tenant's quota limits." },
  events: {
    QuotaReserved: notAudited(BOOKKEEPING),
    QuotaReleased: notAudited(BOOKKEEPING),
    QuotaLimitsOverridden: audited('QUOTA_OVERRIDE'),
    InstanceCapacityReserved: notAudited(LEGACY),
    InstanceCapacityResized: notAudited(LEGACY),
    InstanceCapacityReleased: notAudited(LEGACY),
    VolumeCapacityReserved: notAudited(LEGACY),
    VolumeCapacityReleased: notAudited(LEGACY),
  },
});

export const QUOTA_RESOURCE_KINDS = [QUOTA_LEDGERS];
