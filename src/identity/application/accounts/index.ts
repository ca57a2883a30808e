import { ChangePasswordHandler } from './change-password';
import { ErasePersonHandler } from './erase-person';
import { RefreshSessionHandler } from './refresh-session';
import { RegisterAccountHandler } from './register-account';
import { RequestPasswordResetHandler } from './request-password-reset';
import { ResetPasswordHandler } from './reset-password';
import { SignInHandler } from './sign-in';
import { SignOutHandler } from './sign-out';

export { ChangePassword, type PasswordChangeResult } from './change-password';
export { ErasePerson } from './erase-person';
export { RefreshSession } from './refresh-session';
export { RegisterAccount } from './register-account';
export { FORGOT_PASSWORD_MESSAGE, RequestPasswordReset } from './request-password-reset';
export { ResetPassword } from './reset-password';
export { SignIn, type LoginResult } from './sign-in';
export { SignOut } from './sign-out';
export { AccountDirectory, type PublicUser } from './account-directory';
export { REFRESH_TOKEN_TTL_MS, Sessions, type SessionTokens } from './sessions';

/** The account use cases' handlers (providers of IdentityModule). */
export const ACCOUNT_USE_CASES = [
  RegisterAccountHandler,
  SignInHandler,
  RefreshSessionHandler,
  SignOutHandler,
  ChangePasswordHandler,
  RequestPasswordResetHandler,
  ResetPasswordHandler,
  ErasePersonHandler,
];
