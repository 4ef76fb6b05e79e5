import { type IncomingHttpHeaders } from 'node:http';
import { clientResponseHeaders, type ForwardedFacts, upstreamRequestHeaders } from './header-rules.js';

const FACTS: ForwardedFacts = {
  clientIp: '127.0.0.1',
  proto: 'http',
  requestId: 'req-1',
  consumer: null,
  stripApiKey: false,
  stripAuthorization: false,
  contentLength: null,
};

const up = (incoming: IncomingHttpHeaders, facts: Partial<ForwardedFacts> = {}): Record<string, string | string[]> =>
  upstreamRequestHeaders(incoming, { ...FACTS, ...facts });

describe('upstreamRequestHeaders: hop-by-hop', () => {
  it('drops every hop-by-hop header of RFC 9110 §7.6.1', () => {
    const out = up({
      host: 'gw.local',
      connection: 'keep-alive',
      'keep-alive': 'timeout=5',
      'proxy-connection': 'keep-alive',
      'proxy-authorization': 'Basic Zm9vOmJhcg==',
      'proxy-authenticate': 'Basic',
      te: 'trailers',
      trailer: 'x-checksum',
      'transfer-encoding': 'chunked',
      upgrade: 'websocket',
      'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA',
      accept: 'application/json',
    });
    expect(Object.keys(out).sort()).toEqual(
      ['accept', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto', 'x-request-id'].sort(),
    );
    expect(out.accept).toBe('application/json');
  });

  it('drops the headers named in Connection, whatever their case and spacing', () => {
    const out = up({
      connection: 'keep-alive, X-Secret ,x-other,,  X-THIRD',
      'x-secret': 's',
      'x-other': 'o',
      'x-third': 't',
      'x-kept': 'k',
    });
    expect(out['x-secret']).toBeUndefined();
    expect(out['x-other']).toBeUndefined();
    expect(out['x-third']).toBeUndefined();
    expect(out['x-kept']).toBe('k');
  });

  it('reads Connection given as a list too', () => {
    const out = up({ connection: ['close', 'x-a'] as unknown as string, 'x-a': '1', 'x-b': '2' });
    expect(out['x-a']).toBeUndefined();
    expect(out['x-b']).toBe('2');
  });

  it('drops Host (the upstream gets its own) and the framing headers the gateway sets', () => {
    const out = up({ host: 'gw.local:8080', 'content-length': '999', expect: '100-continue' });
    expect(out.host).toBeUndefined();
    expect(out.expect).toBeUndefined();
    expect(out['content-length']).toBeUndefined();
    expect(up({ 'content-length': '999' }, { contentLength: 12 })['content-length']).toBe('12');
  });

  it('keeps end-to-end headers as they came, repeated ones included', () => {
    const out = up({
      'content-type': 'text/plain',
      cookie: 'a=1; b=2',
      'x-many': ['one', 'two'] as unknown as string,
      authorization: 'Bearer upstream-own-token',
      'x-api-key': 'not-the-gateways',
    });
    expect(out['content-type']).toBe('text/plain');
    expect(out.cookie).toBe('a=1; b=2');
    expect(out['x-many']).toEqual(['one', 'two']);
    expect(out.authorization).toBe('Bearer upstream-own-token');
    expect(out['x-api-key']).toBe('not-the-gateways');
  });
});

describe('upstreamRequestHeaders: X-Forwarded-* and X-Request-Id', () => {
  it('sets X-Forwarded-For to the client when there was none', () => {
    expect(up({})['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('appends the client to an X-Forwarded-For chain', () => {
    expect(up({ 'x-forwarded-for': '203.0.113.7' }, { clientIp: '10.0.0.2' })['x-forwarded-for']).toBe(
      '203.0.113.7, 10.0.0.2',
    );
    expect(up({ 'x-forwarded-for': '203.0.113.7, 198.51.100.1' })['x-forwarded-for']).toBe(
      '203.0.113.7, 198.51.100.1, 127.0.0.1',
    );
    const repeated = up({ 'x-forwarded-for': ['1.1.1.1', '2.2.2.2'] as unknown as string });
    expect(repeated['x-forwarded-for']).toBe('1.1.1.1, 2.2.2.2, 127.0.0.1');
  });

  it('sets X-Forwarded-Proto and -Host from this hop, replacing the client’s', () => {
    const out = up(
      { host: 'api.example.com', 'x-forwarded-proto': 'gopher', 'x-forwarded-host': 'evil.example' },
      { proto: 'https' },
    );
    expect(out['x-forwarded-proto']).toBe('https');
    expect(out['x-forwarded-host']).toBe('api.example.com');
    expect(up({})['x-forwarded-host']).toBeUndefined();
  });

  it('sends the resolved request id, whatever the client sent', () => {
    expect(up({ 'x-request-id': 'client-id' }, { requestId: 'resolved' })['x-request-id']).toBe('resolved');
  });
});

describe('upstreamRequestHeaders: credentials and X-Consumer-Name', () => {
  it('strips the gateway credential from X-API-Key', () => {
    const out = up({ 'x-api-key': 'gw-key-123456', authorization: 'Bearer other' }, { stripApiKey: true });
    expect(out['x-api-key']).toBeUndefined();
    expect(out.authorization).toBe('Bearer other');
  });

  it('strips the gateway credential from Authorization', () => {
    const out = up({ authorization: 'Bearer gw-key-123456' }, { stripAuthorization: true });
    expect(out.authorization).toBeUndefined();
  });

  it('always removes a client-sent X-Consumer-Name', () => {
    expect(up({ 'x-consumer-name': 'admin' })['x-consumer-name']).toBeUndefined();
  });

  it('sets X-Consumer-Name to the verified key name', () => {
    expect(up({ 'x-consumer-name': 'admin' }, { consumer: 'alice' })['x-consumer-name']).toBe('alice');
  });
});

describe('clientResponseHeaders', () => {
  it('passes the upstream’s headers through, minus hop-by-hop ones and those named in Connection', () => {
    const out = clientResponseHeaders({
      'content-type': 'application/json',
      'content-length': '12',
      'set-cookie': ['a=1', 'b=2'],
      'x-instance-id': 'flaky-1',
      connection: 'keep-alive, X-Internal',
      'keep-alive': 'timeout=65',
      'x-internal': 'secret',
      'transfer-encoding': 'chunked',
      trailer: 'x-sum',
      upgrade: 'h2c',
      'proxy-authenticate': 'Basic',
      etag: '"v1"',
      missing: undefined,
    });
    expect(out).toEqual({
      'content-type': 'application/json',
      'content-length': '12',
      'set-cookie': ['a=1', 'b=2'],
      'x-instance-id': 'flaky-1',
      etag: '"v1"',
    });
  });
});
