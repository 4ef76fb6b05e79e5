import { PassThrough, Readable } from 'node:stream';
import { once } from 'node:events';
import { teeBody } from './body-tee.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('teeBody', () => {
  it('passes the body through and keeps a copy when it fits', async () => {
    let kept: Buffer | null | undefined;
    const out = teeBody(Readable.from([Buffer.from('ab'), Buffer.from('cd')]), 4, (b) => (kept = b));
    expect((await readAll(out)).toString()).toBe('abcd');
    expect(kept?.toString()).toBe('abcd');
  });

  it('gives up the copy as soon as the limit is passed, still streaming everything', async () => {
    const source = new PassThrough();
    const calls: (Buffer | null)[] = [];
    const out = teeBody(source, 3, (b) => calls.push(b));
    const received: Buffer[] = [];
    out.on('data', (c: Buffer) => received.push(c));
    source.write('ab');
    source.write('cd'); // passes the limit: settled now, before the end
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([null]);
    source.end('ef');
    await once(out, 'end');
    expect(Buffer.concat(received).toString()).toBe('abcdef');
    expect(calls).toEqual([null]);
  });

  it('does not hold chunks back until the end (never buffers the whole response)', async () => {
    const source = new PassThrough();
    const out = teeBody(source, 1 << 20, () => undefined);
    source.write('first');
    const [chunk] = (await once(out, 'data')) as [Buffer];
    expect(chunk.toString()).toBe('first');
    expect(out.readableEnded).toBe(false);
    source.end();
  });

  it('settles null when the source fails, and destroying the tee destroys the source', async () => {
    const failing = new PassThrough();
    const calls: (Buffer | null)[] = [];
    const out = teeBody(failing, 100, (b) => calls.push(b));
    out.on('error', () => undefined);
    const closed = new Promise((r) => out.once('close', r));
    failing.destroy(new Error('reset'));
    await closed;
    expect(calls).toEqual([null]);

    const source = new PassThrough();
    const calls2: (Buffer | null)[] = [];
    const out2 = teeBody(source, 100, (b) => calls2.push(b));
    source.on('error', () => undefined);
    const sourceClosed = new Promise((r) => source.once('close', r));
    out2.destroy();
    await sourceClosed;
    expect(source.destroyed).toBe(true);
    expect(calls2).toEqual([null]);
  });
});
