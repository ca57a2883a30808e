/**
 * JWT access tokens: HS256 only (the algorithm is pinned on both sides, so `alg: none` or an
 * RS/HS confusion cannot pass), issuer `nimbus`, audience `nimbus-api`, short-lived, carrying the
 * user's session version (`sv`) so a password reset or erasure kills them before they expire.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';

export const JWT_ALGORITHM = 'HS256';
const ISSUER = 'nimbus';
const AUDIENCE = 'nimbus-api';

export interface AccessTokenClaims {
  userId: string;
  sessionVersion: number;
}

/** Verified tokens remembered (a full map starts over). */
const VERIFIED_CACHE_SIZE = 10_000;

export class AccessTokens {
  /**
   * Tokens whose signature, issuer and audience were checked, with their expiry (seconds): a
   * signed token cannot change, so a client's next request with it skips the HMAC and only the
   * expiry is checked again. The guard still checks the session version on every request.
   */
  private readonly verified = new Map<string, { claims: AccessTokenClaims; exp: number }>();

  constructor(
    private readonly secret: Uint8Array,
    readonly ttlMs: number,
    private readonly now: () => Date,
  ) {}

  async issue(claims: AccessTokenClaims): Promise<{ token: string; expiresInSeconds: number }> {
    const issuedAt = Math.floor(this.now().getTime() / 1000);
    const expiresInSeconds = Math.floor(this.ttlMs / 1000);
    const token = await new SignJWT({ sv: claims.sessionVersion })
      .setProtectedHeader({ alg: JWT_ALGORITHM, typ: 'JWT' })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + expiresInSeconds)
      .setJti(randomUUID())
      .sign(this.secret);
    return { token, expiresInSeconds };
  }

  /** The claims of a valid, unexpired token; null for anything else. */
  async verify(token: string): Promise<AccessTokenClaims | null> {
    const nowSeconds = Math.floor(this.now().getTime() / 1000);
    const known = this.verified.get(token);
    if (known) {
      if (nowSeconds < known.exp) return known.claims;
      this.verified.delete(token);
      return null;
    }
    try {
      const { payload } = await jwtVerify(token, this.secret, {
        algorithms: [JWT_ALGORITHM],
        issuer: ISSUER,
        audience: AUDIENCE,
        currentDate: this.now(),
        requiredClaims: ['sub', 'exp', 'sv'],
      });
      if (typeof payload.sub !== 'string' || !Number.isInteger(payload.sv)) return null;
      const claims = { userId: payload.sub, sessionVersion: payload.sv as number };
      if (typeof payload.exp === 'number') {
        if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.clear();
        this.verified.set(token, { claims, exp: payload.exp });
      }
      return claims;
    } catch {
      return null;
    }
  }
}
