// Shared by the Nest peers: one controller class, decorated at run time (Nest's decorators are
// plain functions; `Reflect.decorate` applies them as TypeScript would), on platform-express.
import 'reflect-metadata';
import { All, Controller, Get, Module, Req, Res } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import express from 'express';

/**
 * Serves `handler` on a Nest platform-express app at `PORT` on 127.0.0.1.
 * `kind: 'get-ok'`: `GET /ok` whose return value Nest serialises (a route that answers at once).
 * `kind: 'all'`: `ALL /{*path}` with `@Req() @Res()` (a proxy controller that writes the answer itself).
 */
export async function serveNest(name, kind, handler) {
  class BenchController {}
  Object.defineProperty(BenchController, 'name', { value: name });
  BenchController.prototype.handle = handler;

  const descriptor = Object.getOwnPropertyDescriptor(BenchController.prototype, 'handle');
  const route = kind === 'get-ok' ? Get('ok') : All('{*path}');
  if (kind === 'all') {
    // TypeScript's `__param(i, Req())`: parameter decorators get (target, key, index).
    Req()(BenchController.prototype, 'handle', 0);
    Res()(BenchController.prototype, 'handle', 1);
  }
  Object.defineProperty(
    BenchController.prototype,
    'handle',
    Reflect.decorate([route], BenchController.prototype, 'handle', descriptor) ?? descriptor,
  );
  Reflect.decorate([Controller()], BenchController);

  class BenchModule {}
  Reflect.decorate([Module({ controllers: [BenchController] })], BenchModule);

  const app = await NestFactory.create(BenchModule, new ExpressAdapter(express()), { logger: ['error'] });
  const port = Number(process.env.PORT);
  await app.listen(port, '127.0.0.1');
  process.stdout.write(`${name} listening on http://127.0.0.1:${port}\n`);
  const stopApp = () =>
    void app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  process.once('SIGTERM', stopApp);
  process.once('SIGINT', stopApp);
}
