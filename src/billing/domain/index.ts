export * from './money';
export * from './period';
export * from './meter';
export * from './statement';
