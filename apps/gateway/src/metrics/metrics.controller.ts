import { Controller, Get, Header, Req, Res } from '@nestjs/common';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { type Request, type Response } from 'express';
import { MetricsService } from './metrics.service.js';

/** `GET /metrics`: Prometheus text, or the JSON summary when the client asks for JSON. */
@Controller()
export class MetricsController extends PrometheusController {
  constructor(private readonly metrics: MetricsService) {
    super();
  }

  @Get()
  @Header('Cache-Control', 'no-store')
  override async index(@Res({ passthrough: true }) response: Response, @Req() request?: Request): Promise<string> {
    const accept = request?.headers.accept ?? '';
    if (accept.includes('application/json') && !accept.includes('text/plain')) {
      response.setHeader('Content-Type', 'application/json; charset=utf-8');
      return JSON.stringify(this.metrics.summary());
    }
    return super.index(response);
  }
}
