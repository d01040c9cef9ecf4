/**
 * HTTP basic authentication against bcrypt hashes, as the exporter toolkit
 * does it: every route is guarded once any user is configured, and a
 * refused request gets 401 with `WWW-Authenticate: Basic`.
 */
import { createHmac, randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** How many verified (user, password) pairs are remembered. */
const VERIFIED_CACHE_SIZE = 1024;

/** The name a request authenticated as, for the audit log. */
export function authenticatedUser(res: Response): string | undefined {
  const user: unknown = res.locals.authUser;
  return typeof user === 'string' ? user : undefined;
}

/** User and password from an `Authorization: Basic` header. */
export function parseBasicCredentials(
  header: string | undefined,
): { user: string; password: string } | undefined {
  const m = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * The user table and its checks. `setUsers` swaps the table in place on a
 * reload; requests already being checked finish against the old one.
 */
export class BasicAuth {
  private users = new Map<string, string>();
  /** Keys of pairs that passed bcrypt, oldest first. */
  private readonly verified = new Map<string, true>();
  /** Keys the cache so a memory dump does not reveal passwords. */
  private readonly cacheSecret = randomBytes(32);

  constructor(users: Map<string, string> = new Map()) {
    this.setUsers(users);
  }

  /** Replaces the users; an empty table turns authentication off. */
  setUsers(users: Map<string, string>): void {
    this.users = new Map(users);
    this.verified.clear();
  }

  get enabled(): boolean {
    return this.users.size > 0;
  }

  /**
   * True when the password matches the user's hash. An unknown user still
   * costs one bcrypt comparison, against a configured hash so the cost
   * matches, which keeps user names from being probed by timing.
   */
  async verify(user: string, password: string): Promise<boolean> {
    const known = this.users.get(user);
    const hash = known ?? this.users.values().next().value;
    if (hash === undefined) return false;

    const key = createHmac('sha256', this.cacheSecret)
      .update(`${user}\0${hash}\0${password}`)
      .digest('hex');
    if (known !== undefined && this.verified.has(key)) {
      this.verified.delete(key);
      this.verified.set(key, true);
      return true;
    }

    const matches = await bcrypt.compare(password, hash);
    if (!matches || known === undefined) return false;
    if (this.users.get(user) !== hash) return false;
    this.remember(key);
    return true;
  }

  private remember(key: string): void {
    this.verified.set(key, true);
    if (this.verified.size > VERIFIED_CACHE_SIZE) {
      const oldest = this.verified.keys().next().value;
      if (oldest !== undefined) this.verified.delete(oldest);
    }
  }

  /** Express middleware guarding everything mounted after it. */
  middleware(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      if (!this.enabled) return next();
      const credentials = parseBasicCredentials(req.get('authorization'));
      const check = credentials
        ? this.verify(credentials.user, credentials.password)
        : Promise.resolve(false);
      check.then(
        (ok) => {
          if (!ok) return refuse(res);
          res.locals.authUser = credentials!.user;
          next();
        },
        (err: unknown) => next(err),
      );
    };
  }
}

function refuse(res: Response): void {
  res
    .status(401)
    .set('WWW-Authenticate', 'Basic')
    .type('text/plain')
    .send('Unauthorized\n');
}
