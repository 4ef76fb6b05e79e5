import { SetMetadata } from '@nestjs/common';

export const DASHBOARD_ACCESS = 'bw:dashboard-access';

/**
 * How a dashboard endpoint is guarded when ADMIN_API_KEY is set:
 * `private` (default) answers 401 to anonymous requests; `page` lets them through marked
 * anonymous, so the handler can redirect to the login form; `public` needs nothing (login,
 * static assets).
 */
export type DashboardAccessMode = 'private' | 'page' | 'public';

/** Marks a dashboard endpoint's access mode (see {@link DashboardAccessMode}). */
export const DashboardEndpoint = (mode: DashboardAccessMode): MethodDecorator => SetMetadata(DASHBOARD_ACCESS, mode);
