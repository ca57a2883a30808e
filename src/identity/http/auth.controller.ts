import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { AuthContext } from '../../common/auth-context';
import { ApiErrors } from '../../common/errors/error-envelope';
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

@ApiTags('identity')
@Controller('auth')
export class AuthController {
  constructor(private readonly commands: CommandBus) {}

  @Post('register')
  @Public()
  @AuthRateLimited()
  @ApiOperation({ summary: 'Create an account and its personal tenant' })
  @ApiResponse({ status: 201, type: RegisterResponse })
  @ApiErrors('validation_error', 'email_taken')
  async register(@Body() body: RegisterDto, @Ctx() ctx: CommandContext): Promise<RegisterResponse> {
    const { userId } = (await this.commands.execute(new RegisterAccount(body, ctx))).result;
    return { message: 'user created successfully', user_id: userId };
  }

  @Post('login')
  @HttpCode(200)
  @Public()
  @AuthRateLimited()
  @ApiOperation({ summary: 'Sign in: access + refresh token and a session API key' })
  @ApiOkResponse({ type: LoginResponse })
  @ApiErrors('validation_error', 'unauthorized', 'sign_in_throttled')
  async login(@Body() body: LoginDto, @Ctx() ctx: CommandContext) {
    return (await this.commands.execute(new SignIn(body, ctx))).result;
  }

  @Post('refresh')
  @HttpCode(200)
  @Public()
  @AuthRateLimited()
  @ApiOperation({
    summary: 'Rotate a refresh token: new access + refresh pair; a reused token revokes its family',
  })
  @ApiOkResponse({ type: SessionTokensResponse })
  @ApiErrors('validation_error', 'unauthorized')
  async refresh(@Body() body: RefreshDto, @Ctx() ctx: CommandContext) {
    return (await this.commands.execute(new RefreshSession(body.refresh_token, ctx))).result;
  }

  @Post('logout')
  @HttpCode(200)
  @Public()
  @AuthRateLimited()
  @ApiOperation({
    summary:
      "End a session: revokes the refresh token's family and the API key minted at that login (the access token lives until it expires)",
  })
  @ApiOkResponse({ type: MessageResponse })
  @ApiErrors('validation_error')
  async logout(@Body() body: RefreshDto, @Ctx() ctx: CommandContext): Promise<MessageResponse> {
    await this.commands.execute(new SignOut(body.refresh_token, ctx));
    return { message: 'signed out' };
  }

  @Post('forgot-password')
  @HttpCode(200)
  @Public()
  @AuthRateLimited()
  @ApiOperation({ summary: 'Mail a password reset token (same answer whether the email exists)' })
  @ApiOkResponse({ type: MessageResponse })
  @ApiErrors('validation_error')
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
  @ApiOperation({ summary: 'Set a new password with a reset token; ends every session' })
  @ApiOkResponse({ type: MessageResponse })
  @ApiErrors('validation_error')
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
  @ApiOperation({ summary: 'The caller, the active tenant and their roles in it' })
  @ApiOkResponse({ type: MeResponse })
  @ApiErrors('unauthorized')
  me(@CurrentAuth() auth: AuthContext) {
    return this.accounts.me(auth);
  }

  // Self-service on the caller's own account, so no IAM action: a viewer (whose role grants only
  // reads) must still be able to change their password. The current password is the proof.
  @Post('password')
  @HttpCode(200)
  @Authenticated()
  @ApiOperation({
    summary:
      'Change the password: every other session ends (JWTs, session keys, refresh tokens); the answer carries a new session',
  })
  @ApiOkResponse({ type: PasswordChangeResponse })
  @ApiErrors('validation_error', 'unauthorized', 'sign_in_throttled')
  async changePassword(
    @Body() body: ChangePasswordDto,
    @CurrentAuth() auth: AuthContext,
    @Ctx() ctx: CommandContext,
  ): Promise<PasswordChangeResponse> {
    return (await this.commands.execute(new ChangePassword(auth, body, ctx))).result;
  }
}
