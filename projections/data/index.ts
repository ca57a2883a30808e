export { CACHES_PROJECTION, cachesProjection, DATA_PROJECTIONS } from './caches.projection';
