import { Module } from '@nestjs/common';
import { RoutingModule } from '../routing/routing.module.js';
import { Forwarder } from './forwarder.service.js';
import { ProxyResponseInterceptor } from './proxy-response.interceptor.js';
import { ProxyController } from './proxy.controller.js';
import { ProxyService } from './proxy.service.js';

@Module({
  imports: [RoutingModule],
  controllers: [ProxyController],
  providers: [Forwarder, ProxyService, ProxyResponseInterceptor],
  exports: [Forwarder, ProxyService],
})
export class ProxyModule {}
