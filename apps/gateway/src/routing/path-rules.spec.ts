import { confinePath, joinUpstreamPath, splitTarget } from './path-rules.js';

const refused = (rest: string): string => {
  const verdict = confinePath(rest);
  if (verdict.ok) throw new Error(`${rest} was accepted as ${verdict.path}`);
  return verdict.reason;
};
const accepted = (rest: string): string => {
  const verdict = confinePath(rest);
  if (!verdict.ok) throw new Error(`${rest} was refused: ${verdict.reason}`);
  return verdict.path;
};

describe('confinePath: traversal out of the prefix is refused', () => {
  it.each([
    ['/..', 'plain'],
    ['/../etc/passwd', 'plain, deeper'],
    ['/a/../..', 'climbs back out'],
    ['/a/b/../../../x', 'climbs one too many'],
    ['/%2e%2e', 'encoded dots'],
    ['/%2E%2E/x', 'encoded dots, upper case'],
    ['/%2E%2e/x', 'encoded dots, mixed case'],
    ['/.%2e/x', 'half encoded'],
    ['/%2e./x', 'half encoded, other half'],
    ['/..%2f', 'encoded slash after'],
    ['/..%2Fetc', 'encoded slash after, upper case'],
    ['/%2f..', 'encoded slash before'],
    ['/a%2f..%2f..', 'encoded slashes only'],
    ['/%2e%2e%2fetc%2fpasswd', 'fully encoded'],
    ['/..%5c', 'encoded backslash'],
    ['/..%5Cwindows', 'encoded backslash, upper case'],
    ['/..\\', 'backslash'],
    ['/a\\..\\..\\x', 'backslashes only'],
    ['/a/%2e%2e/%2e%2e', 'encoded, after a segment'],
    ['/a/.%2E%5c..', 'all at once'],
    ['/..;/x', 'path parameter (Tomcat reads ..;x as ..)'],
    ['/a/..;jsessionid=1/..;/x', 'path parameters after a segment'],
  ])('%s (%s)', (rest) => {
    expect(refused(rest)).toBe('path leaves the service prefix');
  });

  it.each(['/%00', '/a%00b', '/a\0b', '/..%00'])('NUL %j is refused', (rest) => {
    expect(refused(rest)).toBe('path contains a NUL byte');
  });

  it.each(['/%zz', '/a%2', '/a%', '/%g0/x', '/%%2e'])('malformed percent-encoding %j is refused', (rest) => {
    expect(refused(rest)).toBe('path has a malformed percent-encoding');
  });
});

describe('confinePath: what stays inside is forwarded', () => {
  it('keeps an encoded slash encoded', () => {
    expect(accepted('/projects/group%2Fproject/issues')).toBe('/projects/group%2Fproject/issues');
    expect(accepted('/group%2fproject')).toBe('/group%2fproject');
    expect(accepted('/a%5Cb')).toBe('/a%5Cb');
  });

  it('keeps an encoded slash that a decoding upstream would still resolve inside', () => {
    expect(accepted('/a/b%2F..')).toBe('/a/b%2F..');
    expect(accepted('/a/b/..%2fc')).toBe('/a/b/..%2fc');
  });

  it.each([
    ['/a/./b', '/a/b'],
    ['/a/b/../c', '/a/c'],
    ['/a/%2e%2e/b', '/b'],
    ['/a/.%2E/b', '/b'],
    ['/a/%2e/b', '/a/b'],
    ['/a/..', '/'],
    ['/a/b/..', '/a/'],
    ['/a/.', '/a/'],
    ['/.', '/'],
    ['/./a', '/a'],
  ])('resolves dot segments inside: %s → %s', (rest, path) => {
    expect(accepted(rest)).toBe(path);
  });

  it('leaves everything else as sent', () => {
    expect(accepted('')).toBe('');
    expect(accepted('/')).toBe('/');
    expect(accepted('/a/')).toBe('/a/');
    expect(accepted('/a//b')).toBe('/a//b');
    expect(accepted('/...')).toBe('/...');
    expect(accepted('/..a/a..')).toBe('/..a/a..');
    expect(accepted('/caf%C3%A9/%20x')).toBe('/caf%C3%A9/%20x');
    expect(accepted('/a;b=1/c')).toBe('/a;b=1/c');
    expect(accepted('/%252e%252e')).toBe('/%252e%252e'); // double-encoded: dots only after two decodings
  });
});

describe('path helpers', () => {
  it('splitTarget splits at the first ?', () => {
    expect(splitTarget('/a/b?x=1&y=?')).toEqual({ path: '/a/b', query: 'x=1&y=?' });
    expect(splitTarget('/a')).toEqual({ path: '/a', query: '' });
    expect(splitTarget('/a?')).toEqual({ path: '/a', query: '' });
  });

  it('joinUpstreamPath never returns an empty path', () => {
    expect(joinUpstreamPath('', '', '', '')).toBe('/');
    expect(joinUpstreamPath('', '', '', 'q=1')).toBe('/?q=1');
    expect(joinUpstreamPath('/base', '/flaky-data', '/x', 'a=b')).toBe('/base/flaky-data/x?a=b');
    expect(joinUpstreamPath('', '/flaky-data', '', '')).toBe('/flaky-data');
  });
});
