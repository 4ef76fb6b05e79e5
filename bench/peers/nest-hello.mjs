// "Nest hello": a NestJS platform-express route that answers at once: the framework's ceiling.
import { serveNest } from './nest-app.mjs';

await serveNest('NestHello', 'get-ok', function hello() {
  return { status: 'ok' };
});
