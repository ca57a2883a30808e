import { Global, Module } from '@nestjs/common';
import { LedgerClock } from './ledger-clock';

/** What the ledger contexts (billing, audit, timeline, events, webhooks, reports) share. */
@Global()
@Module({ providers: [LedgerClock], exports: [LedgerClock] })
export class LedgerModule {}
