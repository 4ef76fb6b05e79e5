import { Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { AdminGuard } from '../auth/admin.guard.js';
import { GatewayError } from '../common/gateway-error.js';
import { RoutesReloader, type ReloadSuccess } from '../routing/routes-reloader.service.js';

/**
 * `POST /admin/reload` (CONTRACT §3), behind the admin key: re-reads the routes file. 200 with
 * what changed; 422 problem+json with `problems` (every one, by YAML path) when the file is
 * refused, the old configuration staying in use.
 */
@Controller('admin/reload')
@UseGuards(AdminGuard)
export class ReloadController {
  constructor(private readonly reloader: RoutesReloader) {}

  @Post()
  @HttpCode(200)
  reload(): ReloadSuccess {
    const result = this.reloader.reload('api');
    if (result.result === 'success') return result;
    const n = result.problems.length;
    throw new GatewayError(
      'UNPROCESSABLE',
      `the routes file has ${n} problem${n === 1 ? '' : 's'}; configuration ${result.version} stays in use`,
      {},
      { problems: result.problems, version: result.version },
    );
  }
}
