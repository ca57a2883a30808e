import { Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Ctx } from '../common/request-context';
import type { CommandContext } from '../kernel/command-context';
import { userCallerOf } from '../events/caller';
import { Authenticated } from '../identity/auth/decorators';
import { PrivacyService, type PersonalDataExport } from './privacy.service';

@ApiTags('privacy')
@Controller('me')
export class PrivacyController {
  constructor(private readonly privacy: PrivacyService) {}

  @Get('export')
  @Authenticated()
  @ApiOperation({
    summary: 'Everything held about the caller: profile, memberships, API keys, audit entries',
  })
  async export(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PersonalDataExport> {
    const { userId } = userCallerOf(request);
    void reply.header(
      'content-disposition',
      `attachment; filename="nimbus-personal-data-${userId}.json"`,
    );
    return this.privacy.export(userId);
  }

  @Post('delete')
  @HttpCode(200)
  @Authenticated()
  @ApiOperation({
    summary:
      'Erase the caller (crypto-shredding): name and email read [erased] everywhere; bills and audit totals stay',
  })
  async delete(
    @Req() request: FastifyRequest,
    @Ctx() ctx: CommandContext,
  ): Promise<{ user_id: string; status: 'erased' }> {
    const { userId } = userCallerOf(request);
    await this.privacy.erase(userId, ctx);
    return { user_id: userId, status: 'erased' };
  }
}
