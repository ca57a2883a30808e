import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  MinLength,
  ValidateBy,
  type ValidationOptions,
} from 'class-validator';
import { Transform } from 'class-transformer';
import { PASSWORD_POLICY } from '../crypto/password-policy';
import { IAM_ACTIONS } from '../domain/iam-actions';
import { actionMatches, isActionPattern } from '../domain/iam-patterns';
import { MAX_STATEMENTS } from '../domain/policy';
import { SLUG_RULE, TENANT_ROLES, type TenantRole } from '../domain/tenant';

export class RegisterDto {
  @ApiProperty({ example: 'user@example.com' })
  @IsString()
  @MaxLength(254)
  email!: string;

  @ApiProperty({ example: 'correct-horse-7-battery', description: PASSWORD_POLICY })
  @IsString()
  @MaxLength(1024)
  password!: string;

  @ApiProperty({ example: 'User Name' })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name!: string;
}

export class LoginDto {
  @ApiProperty({ example: 'user@example.com' })
  @IsString()
  @MaxLength(254)
  email!: string;

  @ApiProperty({ example: 'correct-horse-7-battery' })
  @IsString()
  @MaxLength(1024)
  password!: string;
}

export class RefreshDto {
  @ApiProperty({ description: 'The refresh token from login or the previous refresh.' })
  @IsString()
  @MaxLength(512)
  refresh_token!: string;
}

export class ForgotPasswordDto {
  @ApiProperty({ example: 'user@example.com' })
  @IsString()
  @MaxLength(254)
  email!: string;
}

export class ResetPasswordDto {
  @ApiProperty({ description: 'The Reset-Token from the mail.' })
  @IsString()
  @MaxLength(512)
  token!: string;

  @ApiProperty({ example: 'another-horse-8-battery', description: PASSWORD_POLICY })
  @IsString()
  @MaxLength(1024)
  new_password!: string;
}

export class CreateApiKeyDto {
  @ApiProperty({ example: 'Production Key' })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name!: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description: 'When the key stops working; default never.',
  })
  @IsOptional()
  @IsISO8601({ strict: true })
  expires_at?: string;
}

export class CreateTenantDto {
  @ApiProperty({ example: 'Acme Corp' })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name!: string;

  @ApiProperty({ example: 'acme', description: SLUG_RULE })
  @IsString()
  @MaxLength(63)
  slug!: string;
}

export class AddMemberDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  user_id!: string;

  @ApiProperty({ enum: TENANT_ROLES, example: 'member' })
  @IsIn(TENANT_ROLES)
  role!: TenantRole;
}

export class ChangeMemberRoleDto {
  @ApiProperty({ enum: TENANT_ROLES, example: 'admin' })
  @IsIn(TENANT_ROLES)
  role!: TenantRole;
}

export class ChangePasswordDto {
  @ApiProperty({ example: 'correct-horse-7-battery' })
  @IsString()
  @MaxLength(1024)
  current_password!: string;

  @ApiProperty({ example: 'another-horse-8-battery', description: PASSWORD_POLICY })
  @IsString()
  @MaxLength(1024)
  new_password!: string;
}

/**
 * The action patterns of statements (`statements[i].action[j]`) that match no action the API
 * declares (GET /iam/actions): a typo such as `compute:lauch` or `nosuch:action` would otherwise
 * be stored and silently never apply. Wildcards (`*`, `compute:*`) match declared actions.
 * Malformed statements are left to the policy decider, which names each bad part.
 */
export function unknownStatementActions(statements: unknown): string[] {
  if (!Array.isArray(statements)) return [];
  const declared = IAM_ACTIONS.list().map((e) => e.action);
  const unknown: string[] = [];
  statements.forEach((statement: unknown, i) => {
    const actions = (statement as { action?: unknown } | null)?.action;
    if (!Array.isArray(actions)) return;
    actions.forEach((pattern: unknown, j) => {
      if (typeof pattern !== 'string' || !isActionPattern(pattern)) return;
      if (!declared.some((action) => actionMatches(pattern, action))) {
        unknown.push(`statements[${i}].action[${j}] "${pattern}"`);
      }
    });
  });
  return unknown;
}

function OnlyKnownActions(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'onlyKnownActions',
      validator: {
        validate: (value: unknown) => unknownStatementActions(value).length === 0,
        defaultMessage: (args) =>
          `${unknownStatementActions(args?.value).join(', ')} matches no action of the API ` +
          '(GET /iam/actions lists them; wildcards such as "compute:*" are allowed)',
      },
    },
    options,
  );
}

export class PolicyStatementDto {
  @ApiProperty({ enum: ['Allow', 'Deny'] })
  effect!: 'Allow' | 'Deny';

  @ApiProperty({ type: [String], example: ['compute:list', 'compute:get'] })
  action!: string[];

  @ApiProperty({ type: [String], example: ['*'] })
  resource!: string[];
}

export class CreatePolicyDto {
  @ApiProperty({ example: 'ReadOnlyInstances' })
  @IsString()
  @MaxLength(128)
  name!: string;

  @ApiPropertyOptional({ example: 'Read-only access to instances' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  description?: string;

  /** Shape checked by the policy decider, which names each bad part (`statements[1].action[0]`). */
  @ApiProperty({ type: [PolicyStatementDto] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_STATEMENTS)
  @IsObject({ each: true })
  @OnlyKnownActions()
  statements!: Array<Record<string, unknown>>;
}

export class DeletePolicyQuery {
  @ApiPropertyOptional({ type: Boolean, description: 'Detach from every user first.' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    value === 'true' ? true : value === 'false' ? false : value,
  )
  @IsBoolean()
  force?: boolean;
}

export class MessageResponse {
  @ApiProperty()
  message!: string;
}

export class RegisterResponse extends MessageResponse {
  @ApiProperty({ format: 'uuid' })
  user_id!: string;
}

export class PublicUserResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() email!: string;
  @ApiProperty() name!: string;
}

export class SessionTokensResponse {
  @ApiProperty() access_token!: string;
  @ApiProperty() refresh_token!: string;
  @ApiProperty({ example: 'Bearer' }) token_type!: string;
  @ApiProperty({ description: 'Seconds until the access token expires.' }) expires_in!: number;
}

export class LoginResponse extends SessionTokensResponse {
  @ApiProperty({ type: PublicUserResponse }) user!: PublicUserResponse;
  @ApiProperty({
    type: String,
    nullable: true,
    description: 'A session API key (expires after NIMBUS_SESSION_KEY_TTL, ends with the session).',
  })
  api_key!: string | null;
}

export class PasswordChangeResponse extends SessionTokensResponse {
  @ApiProperty({ example: 'password changed; every other session has ended' }) message!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description: "A new session API key replacing the caller's (the old session keys are dead).",
  })
  api_key!: string | null;
}

export class ApiKeyResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) user_id!: string;
  @ApiProperty({ format: 'uuid' }) tenant_id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'The public lookup part of the key.' }) prefix!: string;
  @ApiProperty({ enum: ['user', 'session'] }) kind!: string;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiPropertyOptional({ type: String, nullable: true, format: 'date-time' }) last_used!:
    string | null;
  @ApiPropertyOptional({ type: String, nullable: true, format: 'date-time' }) expires_at!:
    string | null;
  @ApiProperty() revision!: string;
}

export class ApiKeyWithSecretResponse extends ApiKeyResponse {
  @ApiProperty({ description: 'The key itself: shown only in this response.' }) key!: string;
}

export class TenantResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty() slug!: string;
  @ApiProperty({ format: 'uuid' }) owner_id!: string;
  @ApiPropertyOptional({ enum: TENANT_ROLES, nullable: true }) role!: string | null;
  @ApiProperty() is_default!: boolean;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty() revision!: string;
}

export class MemberResponse {
  @ApiProperty({ format: 'uuid' }) tenant_id!: string;
  @ApiProperty({ format: 'uuid' }) user_id!: string;
  @ApiProperty({ enum: TENANT_ROLES }) role!: string;
}

export class PolicyResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) tenant_id!: string;
  @ApiProperty() name!: string;
  @ApiPropertyOptional({ type: String, nullable: true }) description!: string | null;
  @ApiProperty({ type: [PolicyStatementDto] }) statements!: PolicyStatementDto[];
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty() revision!: string;
}

export class IamActionResponse {
  @ApiProperty({ example: 'storage:list' }) action!: string;
  @ApiProperty() description!: string;
  @ApiProperty() service!: string;
  @ApiProperty({ enum: ['read', 'write', 'administration'] }) access!: string;
}

export class MeTenantResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty() slug!: string;
}

export class MeCredentialResponse {
  @ApiProperty({ enum: ['jwt', 'api_key'] }) type!: string;
  @ApiPropertyOptional({ type: String, nullable: true }) api_key_id!: string | null;
}

export class MeResponse {
  @ApiProperty({ type: PublicUserResponse }) user!: PublicUserResponse;
  @ApiPropertyOptional({ type: MeTenantResponse, nullable: true }) tenant!: MeTenantResponse | null;
  @ApiProperty({ type: [String], example: ['owner'] }) roles!: string[];
  @ApiProperty({ type: MeCredentialResponse }) credential!: MeCredentialResponse;
}

export class MemberDetailResponse {
  @ApiProperty({ format: 'uuid' }) user_id!: string;
  @ApiProperty({ description: '`[erased]` once the person is erased.' }) email!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: TENANT_ROLES }) role!: string;
  @ApiProperty({ format: 'date-time' }) added_at!: string;
  @ApiProperty({
    description:
      'Failed password checks for this account in the last hour, from any address (sign-ins are throttled per address; nothing locks the account).',
  })
  failed_sign_ins!: number;
  @ApiProperty({
    description:
      'True while the account is slowed by many failures from many addresses: a new address waits a few seconds before its first attempt.',
  })
  sign_ins_slowed!: boolean;
}
