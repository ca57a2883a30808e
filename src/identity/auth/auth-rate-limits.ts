import { rateLimitHeaders, RateLimiter, type RateLimitVerdict } from './rate-limiter';
import { AppError } from '../../common/errors/app-error';

/**
 * The two request limits: per client address on the /auth endpoints, and per API key or user on
 * every authenticated route. In process memory (one API process; several would each allow the
 * limit). `clear()` is for tests.
 */
export class AuthRateLimits {
  private readonly auth: RateLimiter;
  private readonly api: RateLimiter;

  constructor(
    readonly authPerMinute: number,
    readonly apiPerMinute: number,
    now: () => number,
  ) {
    this.auth = new RateLimiter(60_000, now);
    this.api = new RateLimiter(60_000, now);
  }

  /** Counts an /auth request from `ip`; throws 429 rate_limited when over the limit. */
  hitAuth(ip: string): RateLimitVerdict {
    return enforce(this.auth.hit(`ip:${ip}`, this.authPerMinute), 'authentication requests');
  }

  /** Counts a request of a principal (`key:<id>` or `user:<id>`). */
  hitApi(principal: string): RateLimitVerdict {
    return enforce(this.api.hit(principal, this.apiPerMinute), 'requests');
  }

  clear(): void {
    this.auth.clear();
    this.api.clear();
  }
}

function enforce(verdict: RateLimitVerdict, what: string): RateLimitVerdict {
  if (verdict.allowed) return verdict;
  throw new AppError(
    'rate_limited',
    `too many ${what}: at most ${verdict.limit} per minute; retry in ${verdict.retryAfterSeconds} s`,
    { limit: verdict.limit, window_seconds: 60, retry_after_seconds: verdict.retryAfterSeconds },
    rateLimitHeaders(verdict),
  );
}
