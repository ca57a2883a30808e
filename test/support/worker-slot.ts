/**
 * What e2e files running at the same time must not share, split by vitest worker
 * (`VITEST_POOL_ID`, 1..maxWorkers): the external network's address pool (each worker's apps
 * allocate elastic IPs and gateway ports on the one external bridge) and the host ports engine
 * containers publish on 127.0.0.1. A variable set by the caller wins.
 */
const slot = Math.max(1, Number(process.env.VITEST_POOL_ID ?? 1));

process.env.NIMBUS_EIP_POOL ??= `100.${64 + slot}.0.0/16`;
const firstPort = 27_000 + (slot - 1) * 400;
process.env.NIMBUS_ENGINE_PORTS ??= `${firstPort}-${firstPort + 399}`;

// Apps a test starts as child processes mark their OVN objects as this worker's, so the next
// run's global setup removes whatever they left (see ovn-owner.ts).
process.env.NIMBUS_OVN_OWNER ??= `nimbus-t${process.pid}-0`;
