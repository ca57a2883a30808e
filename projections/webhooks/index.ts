export { EVENT_FEED_PROJECTION, eventFeedProjection } from './event-feed.projection';
export { WEBHOOKS_PROJECTION, webhooksProjection } from './webhooks.projection';
