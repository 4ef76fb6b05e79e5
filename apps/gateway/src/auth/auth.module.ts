import { Global, Module } from '@nestjs/common';
import { AdminGuard } from './admin.guard.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { ApiKeys } from './api-keys.service.js';
import { AuthFailureLimiter } from './auth-failures.service.js';

/**
 * API keys and the two guards. Global, so that any controller can say
 * `@UseGuards(AdminGuard)` (admin endpoints) without importing this module. Needs the
 * RateLimitModule (the failure budget lives in the rate-limit store).
 */
@Global()
@Module({
  providers: [ApiKeys, AuthFailureLimiter, ApiKeyGuard, AdminGuard],
  exports: [ApiKeys, AuthFailureLimiter, ApiKeyGuard, AdminGuard],
})
export class AuthModule {}
