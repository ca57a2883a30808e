import { Controller, Get, HttpCode, Post, Res } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Ctx } from '../common/request-context';
import type { CommandContext } from '../kernel/command-context';
import { CallerUser } from '../platform/http/caller';
import { Authenticated } from '../identity/auth/decorators';
import { PrivacyService } from './privacy.service';
import { ErasureSchema, PersonalDataExportSchema } from './privacy.schemas';
import { ApiOperationFor } from '../platform/http/api-operation';
import type { ResponseBody } from '../platform/http/api-schema';

@ApiTags('privacy')
@Controller('me')
export class PrivacyController {
  constructor(private readonly privacy: PrivacyService) {}

  @Get('export')
  @Authenticated()
  @ApiOperationFor({
    id: 'exportPersonalData',
    summary: 'Everything held about the caller: profile, memberships, API keys, audit entries',
    response: PersonalDataExportSchema,
  })
  async export(
    @CallerUser() userId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ResponseBody<typeof PersonalDataExportSchema>> {
    void reply.header(
      'content-disposition',
      `attachment; filename="nimbus-personal-data-${userId}.json"`,
    );
    return this.privacy.export(userId);
  }

  @Post('delete')
  @HttpCode(200)
  @Authenticated()
  @ApiOperationFor({
    id: 'erasePersonalData',
    summary:
      'Erase the caller (crypto-shredding): name and email read [erased] everywhere; bills and audit totals stay',
    response: ErasureSchema,
  })
  async delete(
    @CallerUser() userId: string,
    @Ctx() ctx: CommandContext,
  ): Promise<ResponseBody<typeof ErasureSchema>> {
    await this.privacy.erase(userId, ctx);
    return { user_id: userId, status: 'erased' };
  }
}
