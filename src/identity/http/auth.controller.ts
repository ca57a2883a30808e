import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiTags } from '@nestjs/swagger';
import type { AuthContext } from '../../common/auth-context';
import { Ctx } from '../../common/request-context';
import type { CommandContext } from '../../kernel/command-context';
import {
  AccountDirectory,
  ChangePassword,
  FORGOT_PASSWORD_MESSAGE,
  RefreshSession,
  RegisterAccount,
  RequestPasswordReset,
  ResetPassword,
  SignIn,
  SignOut,
} from '../application/accounts';
import { Authenticated, AuthRateLimited, CurrentAuth, Public } from '../auth/decorators';
import {
  ChangePasswordDto,
  ForgotPasswordDto,
  LoginDto,
  LoginResponse,
  MeResponse,
  MessageResponse,
  PasswordChangeResponse,
  RefreshDto,
  RegisterDto,
  RegisterResponse,
  ResetPasswordDto,
  SessionTokensResponse,
} from './dto';
import { ApiOperationFor } from '../../platform/http/api-operation';

@ApiTags('identity')
@Controller('auth')
export class AuthController {
  constructor(private readonly commands: CommandBus) {}

  @Post('register')
  @Public()
  @AuthRateLimited()
  @ApiOperationFor({
    id: 'registerAccount',
    summary: 'Create an account and its personal tenant',
    status: 201,
    response: RegisterResponse,
    errors: ['validation_error', 'email_taken'],
  })
  async register(@Body() body: RegisterDto, @Ctx() ctx: CommandContext): Promise<RegisterResponse> {
    const { userId } = (await this.commands.execute(new RegisterAccount(body, ctx))).result;
    return { message: 'user created successfully', user_id: userId };
  }

  @Post('login')
  @HttpCode(200)
  @Public()
  @AuthRateLimited()
  @ApiOperationFor({
    id: 'login',
    summary: 'Sign in: access + refresh token and a session API key',
    response: LoginResponse,
    errors: ['validation_error', 'unauthorized', 'sign_in_throttled'],
  })
  async login(@Body() body: LoginDto, @Ctx() ctx: CommandContext) {
    return (await this.commands.execute(new SignIn(body, ctx))).result;
  }

  @Post('refresh')
  @HttpCode(200)
  @Public()
  @AuthRateLimited()
  @ApiOperationFor({
    id: 'refreshSession',
    summary: 'Rotate a refresh token: new access + refresh pair; a reused token revokes its family',
    response: SessionTokensResponse,
    errors: ['validation_error', 'unauthorized'],
  })
  async refresh(@Body() body: RefreshDto, @Ctx() ctx: CommandContext) {
    return (await this.commands.execute(new RefreshSession(body.refresh_token, ctx))).result;
  }

  @Post('logout')
  @HttpCode(200)
  @Public()
  @AuthRateLimited()
  @ApiOperationFor({
    id: 'logout',
    summary:
      "End a session: revokes the refresh token's family and the API key minted at that login (the access token lives until it expires)",
    response: MessageResponse,
    errors: ['validation_error'],
  })
  async logout(@Body() body: RefreshDto, @Ctx() ctx: CommandContext): Promise<MessageResponse> {
    await this.commands.execute(new SignOut(body.refresh_token, ctx));
    return { message: 'signed out' };
  }

  @Post('forgot-password')
  @HttpCode(200)
  @Public()
  @AuthRateLimited()
  @ApiOperationFor({
    id: 'requestPasswordReset',
    summary: 'Mail a password reset token (same answer whether the email exists)',
    response: MessageResponse,
    errors: ['validation_error'],
  })
  async forgot(
    @Body() body: ForgotPasswordDto,
    @Ctx() ctx: CommandContext,
  ): Promise<MessageResponse> {
    await this.commands.execute(new RequestPasswordReset(body.email, ctx));
    return { message: FORGOT_PASSWORD_MESSAGE };
  }

  @Post('reset-password')
  @HttpCode(200)
  @Public()
  @AuthRateLimited()
  @ApiOperationFor({
    id: 'resetPassword',
    summary: 'Set a new password with a reset token; ends every session',
    response: MessageResponse,
    errors: ['validation_error'],
  })
  async reset(
    @Body() body: ResetPasswordDto,
    @Ctx() ctx: CommandContext,
  ): Promise<MessageResponse> {
    await this.commands.execute(new ResetPassword(body.token, body.new_password, ctx));
    return { message: 'password updated successfully' };
  }
}

@ApiTags('identity')
@Controller('me')
export class MeController {
  constructor(
    private readonly commands: CommandBus,
    private readonly accounts: AccountDirectory,
  ) {}

  @Get()
  @Authenticated()
  @ApiOperationFor({
    id: 'getMe',
    summary: 'The caller, the active tenant and their roles in it',
    response: MeResponse,
    // 404: X-Tenant-ID names a tenant the caller is not (or no longer) a member of.
    errors: ['unauthorized', 'not_found'],
  })
  me(@CurrentAuth() auth: AuthContext) {
    return this.accounts.me(auth);
  }

  // Self-service on the caller's own account, so no IAM action: a viewer (whose role grants only
  // reads) must still be able to change their password. The current password is the proof.
  @Post('password')
  @HttpCode(200)
  @Authenticated()
  @ApiOperationFor({
    id: 'changePassword',
    summary:
      'Change the password: every other session ends (JWTs, session keys, refresh tokens); the answer carries a new session',
    response: PasswordChangeResponse,
    errors: ['validation_error', 'unauthorized', 'sign_in_throttled'],
  })
  async changePassword(
    @Body() body: ChangePasswordDto,
    @CurrentAuth() auth: AuthContext,
    @Ctx() ctx: CommandContext,
  ): Promise<PasswordChangeResponse> {
    return (await this.commands.execute(new ChangePassword(auth, body, ctx))).result;
  }
}
