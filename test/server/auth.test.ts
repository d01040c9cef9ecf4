import bcrypt from 'bcryptjs';
import { describe, expect, it, vi } from 'vitest';
import { BasicAuth, parseBasicCredentials } from '../../src/server/auth.js';

// Cost 4 keeps the tests fast; the code does not depend on the cost.
const aliceHash = bcrypt.hashSync('wonderland', 4);
const bobHash = bcrypt.hashSync('builder', 4);

describe('parseBasicCredentials', () => {
  it('splits at the first colon, so passwords may contain colons', () => {
    // base64("alice:a:b") computed with `printf 'alice:a:b' | base64`.
    expect(parseBasicCredentials('Basic YWxpY2U6YTpi')).toEqual({
      user: 'alice',
      password: 'a:b',
    });
    expect(parseBasicCredentials('basic   YWxpY2U6YTpi')).toEqual({
      user: 'alice',
      password: 'a:b',
    });
  });

  it.each([
    undefined,
    '',
    'Bearer abc',
    'Basic',
    'Basic bm9jb2xvbg==' /* "nocolon" */,
  ])('refuses %j', (header) => {
    expect(parseBasicCredentials(header)).toBeUndefined();
  });
});

describe('BasicAuth', () => {
  const users = () =>
    new Map([
      ['alice', aliceHash],
      ['bob', bobHash],
    ]);

  it('accepts each user with their own password only', async () => {
    const auth = new BasicAuth(users());
    expect(await auth.verify('alice', 'wonderland')).toBe(true);
    expect(await auth.verify('bob', 'builder')).toBe(true);
    expect(await auth.verify('alice', 'builder')).toBe(false);
    expect(await auth.verify('alice', '')).toBe(false);
  });

  it('accepts $2y$ hashes as htpasswd writes them', async () => {
    const auth = new BasicAuth(
      new Map([['alice', aliceHash.replace(/^\$2b\$/, '$2y$')]]),
    );
    expect(await auth.verify('alice', 'wonderland')).toBe(true);
  });

  it('still runs bcrypt for an unknown user, and refuses them', async () => {
    const compare = vi.spyOn(bcrypt, 'compare');
    const auth = new BasicAuth(users());
    // Even the right password of another user does not let "carol" in.
    expect(await auth.verify('carol', 'wonderland')).toBe(false);
    expect(compare).toHaveBeenCalledTimes(1);
    compare.mockRestore();
  });

  it('skips bcrypt for a pair it has verified, until the users change', async () => {
    const compare = vi.spyOn(bcrypt, 'compare');
    const auth = new BasicAuth(users());
    expect(await auth.verify('alice', 'wonderland')).toBe(true);
    expect(await auth.verify('alice', 'wonderland')).toBe(true);
    expect(compare).toHaveBeenCalledTimes(1);

    // Failures are not cached: each one costs a comparison.
    expect(await auth.verify('alice', 'nope')).toBe(false);
    expect(await auth.verify('alice', 'nope')).toBe(false);
    expect(compare).toHaveBeenCalledTimes(3);

    auth.setUsers(new Map([['alice', bcrypt.hashSync('looking-glass', 4)]]));
    expect(await auth.verify('alice', 'wonderland')).toBe(false);
    expect(await auth.verify('alice', 'looking-glass')).toBe(true);
    compare.mockRestore();
  });

  it('is off with no users', async () => {
    const auth = new BasicAuth();
    expect(auth.enabled).toBe(false);
    expect(await auth.verify('alice', 'wonderland')).toBe(false);
  });
});
