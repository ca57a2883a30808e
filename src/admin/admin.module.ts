import { Module } from '@nestjs/common';
import { AdminProjectionsController } from './admin-projections.controller';

/** Operator routes. ProjectionRuntime comes from the global ProjectionsModule. */
@Module({ controllers: [AdminProjectionsController] })
export class AdminModule {}
