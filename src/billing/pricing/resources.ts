/** The price catalog as a resource family (operators' `PUT /admin/prices/:sku`). */
import { audited, resourceKind } from '../../platform/resources/resource-kind';
import { priceCatalogDecider } from '../domain/price-catalog';

export const PRICE_CATALOG = resourceKind(priceCatalogDecider, {
  context: 'billing',
  family: 'price_catalog',
  readModel: 'billing_prices',
  actions: { PRICE_SET: 'An operator set the price of a SKU from an instant on.' },
  events: { PriceSet: audited('PRICE_SET') },
});

export const BILLING_RESOURCE_KINDS = [PRICE_CATALOG];
