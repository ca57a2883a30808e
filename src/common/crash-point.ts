/**
 * A named point where a crash test stops the process: inert unless `NIMBUS_TEST_CRASH_POINT`
 * names this point and the process has an IPC channel (forked by a test). Then the parent is told
 * `{kind: 'paused', at}` and the call never returns: the parent SIGKILLs the process here.
 */
export async function crashPoint(name: string): Promise<void> {
  if (process.env.NIMBUS_TEST_CRASH_POINT !== name || !process.send) return;
  process.send({ kind: 'paused', at: name });
  await new Promise<never>(() => undefined);
}
