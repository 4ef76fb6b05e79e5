import { Global, Module } from '@nestjs/common';
import { LoadBalancer } from './load-balancer.js';
import { RouteTable } from './route-table.service.js';
import { RouteGuard } from './route.guard.js';

@Global()
@Module({
  providers: [RouteTable, LoadBalancer, RouteGuard],
  exports: [RouteTable, LoadBalancer, RouteGuard],
})
export class RoutingModule {}
