import { describe, expect, it } from 'vitest';
import { checkImportTarget, ImportTargetRefused } from './image-download';

describe('checkImportTarget (server-side request forgery guard of image imports)', () => {
  it.each([
    'http://127.0.0.1/rootfs.tar',
    'http://[::1]/rootfs.tar',
    'http://10.1.2.3/rootfs.tar',
    'http://192.168.0.10/rootfs.tar',
    'http://169.254.169.254/latest/meta-data',
  ])('refuses %s unless private targets are allowed', async (url) => {
    await expect(checkImportTarget(url, false)).rejects.toBeInstanceOf(ImportTargetRefused);
    await expect(checkImportTarget(url, true)).resolves.toMatchObject({ url: new URL(url) });
  });

  it('refuses schemes other than http and https', async () => {
    await expect(checkImportTarget('ftp://127.0.0.1/x.tar', true)).rejects.toThrow(/http or https/);
    await expect(checkImportTarget('file:///etc/passwd', true)).rejects.toThrow(/http or https/);
  });

  it('accepts a public address and pins it', async () => {
    await expect(
      checkImportTarget('https://93.184.216.34/rootfs.tar', false),
    ).resolves.toMatchObject({
      address: '93.184.216.34',
      family: 4,
    });
  });
});
