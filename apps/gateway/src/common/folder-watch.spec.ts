import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watchFolders } from './folder-watch.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

describe('watchFolders', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bw-watch-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('calls back once per burst of changes, after the quiet time', async () => {
    let calls = 0;
    const w = watchFolders([dir], () => calls++, { debounceMs: 50 });
    for (let i = 0; i < 10; i++) writeFileSync(join(dir, 'gateway.yaml'), `n: ${i}\n`);
    await until(() => calls > 0);
    await sleep(120);
    expect(calls).toBe(1);
    w.close();
  });

  it('sees a ConfigMap-style ..data symlink swap and a write-rename', async () => {
    mkdirSync(join(dir, '..v1'));
    symlinkSync('..v1', join(dir, '..data'));
    let calls = 0;
    const w = watchFolders([dir], () => calls++, { debounceMs: 20 });
    mkdirSync(join(dir, '..v2'));
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    await until(() => calls === 1);
    writeFileSync(join(dir, 'gateway.yaml.swp'), 'x');
    renameSync(join(dir, 'gateway.yaml.swp'), join(dir, 'gateway.yaml'));
    await until(() => calls === 2);
    w.close();
  });

  it('stops calling back once closed, a pending callback included', async () => {
    let calls = 0;
    const w = watchFolders([dir], () => calls++, { debounceMs: 30 });
    writeFileSync(join(dir, 'a'), '1');
    await sleep(10);
    w.close();
    w.close(); // idempotent
    writeFileSync(join(dir, 'a'), '2');
    await sleep(80);
    expect(calls).toBe(0);
  });

  it('throws for a folder that does not exist', () => {
    expect(() => watchFolders([join(dir, 'missing')], () => undefined)).toThrow(/ENOENT/);
  });
});
