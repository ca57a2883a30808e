// The generated history lives beside the ledger benchmark, which uses it too.
export * from '../../../bench/ledger-history';
