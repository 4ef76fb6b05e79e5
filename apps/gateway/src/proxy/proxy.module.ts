import { Module } from '@nestjs/common';
import { ResponseCacheModule } from '../cache/response-cache.module.js';
import { RoutingModule } from '../routing/routing.module.js';
import { Forwarder } from './forwarder.service.js';
import { ProxyPipelineInterceptor } from './proxy-pipeline.interceptor.js';
import { ProxyController } from './proxy.controller.js';
import { ProxyService } from './proxy.service.js';

@Module({
  imports: [RoutingModule, ResponseCacheModule],
  controllers: [ProxyController],
  providers: [Forwarder, ProxyService, ProxyPipelineInterceptor],
  exports: [Forwarder, ProxyService],
})
export class ProxyModule {}
