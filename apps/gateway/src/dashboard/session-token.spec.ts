import { SessionTokens } from './session-token.js';

describe('SessionTokens', () => {
  const tokens = new SessionTokens('admin-key-1', 60);

  it('accepts what it issued, until it expires', () => {
    const now = 1_700_000_000_000;
    const t = tokens.issue(now);
    expect(tokens.verify(t, now)).toBe(true);
    expect(tokens.verify(t, now + 59_000)).toBe(true);
    expect(tokens.verify(t, now + 60_000)).toBe(false);
  });

  it('never carries the admin key', () => {
    expect(tokens.issue()).not.toContain('admin-key-1');
  });

  it('refuses tokens of another admin key, tampered tokens and junk', () => {
    const t = tokens.issue();
    expect(new SessionTokens('admin-key-2', 60).verify(t)).toBe(false);
    const [exp, nonce, mac] = t.split('.');
    expect(tokens.verify(`${Number(exp) + 1000}.${nonce}.${mac}`)).toBe(false);
    expect(tokens.verify(`${exp}.${nonce}x.${mac}`)).toBe(false);
    expect(tokens.verify(`${exp}.${nonce}.${mac.slice(1)}`)).toBe(false);
    for (const junk of ['', '.', '..', 'a.b.c', `${exp}.${nonce}`, `${t}.x`]) expect(tokens.verify(junk)).toBe(false);
  });
});
