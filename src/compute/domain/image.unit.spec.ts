import { describe, expect, it } from 'vitest';
import { AppError } from '../../common/errors/app-error';
import { spec } from '../../../test/support/decider-spec';
import {
  imageDecider,
  imageOwnedBy,
  imageVisibleTo,
  launchImageFrom,
  reservedImageNameError,
  resolveImageName,
  systemImageId,
  type ImageCommand,
  type ImageEvent,
  type ImageState,
  type RegisterImage,
} from './image';

const NOW = new Date('2026-05-01T10:00:00.000Z');
const AT = NOW.toISOString();
const ID = 'img-1';
const TENANT = 't-1';

const register: RegisterImage = {
  type: 'RegisterImage',
  imageId: ID,
  tenantId: TENANT,
  name: 'my-custom-image',
  description: 'My custom OS image',
  os: 'linux',
  version: '22.04',
  isPublic: false,
  now: NOW,
};

const registered: ImageEvent = {
  type: 'ImageRegistered',
  data: {
    imageId: ID,
    tenantId: TENANT,
    name: 'my-custom-image',
    description: 'My custom OS image',
    os: 'linux',
    version: '22.04',
    isPublic: false,
    system: false,
    at: AT,
  },
};
const uploadStarted: ImageEvent = {
  type: 'ImageImportStarted',
  data: { imageId: ID, source: 'upload', url: null, at: AT },
};
const imported: ImageEvent = {
  type: 'ImageImported',
  data: { imageId: ID, dockerImageId: 'sha256:1', sizeBytes: 1000, at: AT },
};
const failed: ImageEvent = {
  type: 'ImageImportFailed',
  data: { imageId: ID, reason: 'not a tar archive', at: AT },
};
const deleted: ImageEvent = {
  type: 'ImageDeleted',
  data: { imageId: ID, dockerImageId: 'sha256:1', at: AT },
};

const HISTORIES: Record<string, ImageEvent[]> = {
  NONE: [],
  PENDING: [registered],
  IMPORTING: [registered, uploadStarted],
  ACTIVE: [registered, uploadStarted, imported],
  ERROR: [registered, uploadStarted, failed],
  DELETED: [registered, uploadStarted, imported, deleted],
};

const COMMANDS: Record<string, ImageCommand> = {
  RegisterImage: register,
  StartImageImport: { type: 'StartImageImport', source: 'upload', url: null, now: NOW },
  RecordImageImported: {
    type: 'RecordImageImported',
    dockerImageId: 'sha256:1',
    sizeBytes: 1000,
    now: NOW,
  },
  RecordImageImportFailed: { type: 'RecordImageImportFailed', reason: 'boom', now: NOW },
  'DeleteImage(unused)': { type: 'DeleteImage', instancesUsingImage: 0, now: NOW },
  'DeleteImage(in use)': { type: 'DeleteImage', instancesUsingImage: 2, now: NOW },
};

// prettier-ignore
const TABLE: Record<string, Record<string, string>> = {
  //                          NONE, PENDING, IMPORTING, ACTIVE, ERROR, DELETED
  RegisterImage:           { NONE: 'ImageRegistered>PENDING', PENDING: 'conflict', IMPORTING: 'conflict', ACTIVE: 'conflict', ERROR: 'conflict', DELETED: 'conflict' },
  StartImageImport:        { NONE: 'not_found', PENDING: 'ImageImportStarted>PENDING', IMPORTING: 'invalid_state', ACTIVE: 'invalid_state', ERROR: 'ImageImportStarted>PENDING', DELETED: 'not_found' },
  RecordImageImported:     { NONE: 'not_found', PENDING: 'invalid_state', IMPORTING: 'ImageImported>ACTIVE', ACTIVE: 'noop', ERROR: 'invalid_state', DELETED: 'not_found' },
  RecordImageImportFailed: { NONE: 'not_found', PENDING: 'invalid_state', IMPORTING: 'ImageImportFailed>ERROR', ACTIVE: 'invalid_state', ERROR: 'noop', DELETED: 'not_found' },
  'DeleteImage(unused)':   { NONE: 'not_found', PENDING: 'ImageDeleted>DELETED', IMPORTING: 'ImageDeleted>DELETED', ACTIVE: 'ImageDeleted>DELETED', ERROR: 'ImageDeleted>DELETED', DELETED: 'not_found' },
  'DeleteImage(in use)':   { NONE: 'not_found', PENDING: 'dependency_violation', IMPORTING: 'dependency_violation', ACTIVE: 'dependency_violation', ERROR: 'dependency_violation', DELETED: 'not_found' },
};

const fold = (h: ImageEvent[]): ImageState =>
  h.reduce(imageDecider.evolve, imageDecider.initialState());

function outcome(command: ImageCommand, history: ImageEvent[]): string {
  const state = fold(history);
  try {
    const events = imageDecider.decide(command, state);
    if (events.length === 0) return 'noop';
    return `${events.map((e) => e.type).join('+')}>${events.reduce(imageDecider.evolve, state).status}`;
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
}

describe('image decider: every (state, command) pair', () => {
  for (const [name, command] of Object.entries(COMMANDS)) {
    for (const key of Object.keys(HISTORIES)) {
      it(`${name} in ${key} -> ${TABLE[name][key]}`, () => {
        expect(outcome(command, HISTORIES[key])).toBe(TABLE[name][key]);
      });
    }
  }
});

describe('image decider: given/when/then', () => {
  const s = spec(imageDecider);

  it('registers metadata only, PENDING until a file arrives', () => {
    s.given([]).when(register).then([registered]);
  });

  it('import from a URL registers and starts the download in one decision (202 PENDING)', () => {
    s.given([])
      .when({ ...register, importUrl: 'https://images.example/rootfs.tar' })
      .then([
        registered,
        {
          type: 'ImageImportStarted',
          data: { imageId: ID, source: 'url', url: 'https://images.example/rootfs.tar', at: AT },
        },
      ]);
  });

  it.each([
    [{ name: '' }, /name/],
    [{ name: 'bad name' }, /name/],
    [{ importUrl: 'ftp://x/y' }, /url/],
    [{ description: 'x'.repeat(1025) }, /description/],
  ])('register validates %j', (patch, message) => {
    s.given([])
      .when({ ...register, ...patch })
      .thenThrows('validation_error', message);
  });

  it('an ACTIVE image refuses another upload', () => {
    s.given(HISTORIES.ACTIVE)
      .when({ type: 'StartImageImport', source: 'upload', url: null, now: NOW })
      .thenThrows('invalid_state', /^image is ACTIVE; upload needs PENDING or ERROR$/);
  });

  it('a url import needs a valid url', () => {
    s.given(HISTORIES.PENDING)
      .when({ type: 'StartImageImport', source: 'url', url: 'file:///etc/passwd', now: NOW })
      .thenThrows('validation_error', /url/);
  });

  it('a failed import can be retried and then succeeds', () => {
    s.given([...HISTORIES.ERROR, uploadStarted])
      .when({ type: 'RecordImageImported', dockerImageId: 'sha256:2', sizeBytes: 5, now: NOW })
      .thenState((state) => {
        expect(state.status).toBe('ACTIVE');
        expect(state.dockerImageId).toBe('sha256:2');
        expect(state.errorReason).toBeNull();
      });
  });

  it('the failure keeps its reason', () => {
    expect(fold(HISTORIES.ERROR)).toMatchObject({
      status: 'ERROR',
      errorReason: 'not a tar archive',
    });
  });

  it('delete while instances use it is 409 dependency_violation with the count', () => {
    s.given(HISTORIES.ACTIVE)
      .when({ type: 'DeleteImage', instancesUsingImage: 3, now: NOW })
      .thenThrows('dependency_violation', /used by 3 instance/);
  });

  it('delete records the Docker image to remove', () => {
    s.given(HISTORIES.ACTIVE)
      .when({ type: 'DeleteImage', instancesUsingImage: 0, now: NOW })
      .then([deleted]);
  });

  describe('public base images registered by the system', () => {
    const sysId = systemImageId('busybox');
    const registerSystem = {
      type: 'RegisterSystemImage',
      imageId: sysId,
      name: 'busybox',
      description: 'BusyBox Linux',
      os: 'linux',
      version: '1.36',
      dockerImageId: 'sha256:bb',
      sizeBytes: 2_000_000,
      now: NOW,
    } as const;
    const sysRegistered: ImageEvent[] = [
      {
        type: 'ImageRegistered',
        data: {
          imageId: sysId,
          tenantId: null,
          name: 'busybox',
          description: 'BusyBox Linux',
          os: 'linux',
          version: '1.36',
          isPublic: true,
          system: true,
          at: AT,
        },
      },
      {
        type: 'ImageImported',
        data: { imageId: sysId, dockerImageId: 'sha256:bb', sizeBytes: 2_000_000, at: AT },
      },
    ];

    it('are registered ACTIVE, public and owned by nobody, with a stable id', () => {
      expect(systemImageId('busybox')).toBe(sysId);
      expect(systemImageId('alpine')).not.toBe(sysId);
      s.given([]).when(registerSystem).then(sysRegistered);
    });

    it('registering again at start-up is a no-op; after a rebuild it records the new image', () => {
      s.given(sysRegistered).when(registerSystem).then([]);
      s.given(sysRegistered)
        .when({ ...registerSystem, dockerImageId: 'sha256:cc' })
        .then([
          {
            type: 'ImageImported',
            data: { imageId: sysId, dockerImageId: 'sha256:cc', sizeBytes: 2_000_000, at: AT },
          },
        ]);
    });

    it('cannot be deleted by tenants, and a tenant image id cannot be taken over', () => {
      s.given(sysRegistered)
        .when({ type: 'DeleteImage', instancesUsingImage: 0, now: NOW })
        .thenThrows('forbidden');
      s.given([registered])
        .when({ ...registerSystem, imageId: ID })
        .thenThrows('conflict');
    });

    it('are visible to every tenant, owned by none, and launchable', () => {
      const state = fold(sysRegistered);
      expect(imageVisibleTo(state, 'anyone')).toBe(true);
      expect(imageOwnedBy(state, 'anyone')).toBe(false);
      expect(launchImageFrom(state, 'anyone')).toEqual({
        id: sysId,
        name: 'busybox',
        dockerImageId: 'sha256:bb',
      });
    });
  });
});

describe('image visibility and launch', () => {
  it('own images are visible, other tenants see them only when public', () => {
    const active = fold(HISTORIES.ACTIVE);
    expect(imageVisibleTo(active, TENANT)).toBe(true);
    expect(imageVisibleTo(active, 'other')).toBe(false);
    expect(imageOwnedBy(active, TENANT)).toBe(true);
    const pub = fold([
      { ...registered, data: { ...registered.data, isPublic: true } },
      uploadStarted,
      imported,
    ]);
    expect(imageVisibleTo(pub, 'other')).toBe(true);
    expect(imageOwnedBy(pub, 'other')).toBe(false);
    expect(imageVisibleTo(fold(HISTORIES.DELETED), TENANT)).toBe(false);
  });

  it('launch needs a visible ACTIVE image (400 on image otherwise)', () => {
    expect(launchImageFrom(fold(HISTORIES.ACTIVE), TENANT)).toEqual({
      id: ID,
      name: 'my-custom-image',
      dockerImageId: 'sha256:1',
    });
    for (const [state, tenant, message] of [
      [fold(HISTORIES.ACTIVE), 'other', /unknown image/],
      [fold(HISTORIES.NONE), TENANT, /unknown image/],
      [fold(HISTORIES.PENDING), TENANT, /PENDING; launch needs ACTIVE/],
      [fold(HISTORIES.ERROR), TENANT, /ERROR; launch needs ACTIVE/],
    ] as const) {
      try {
        launchImageFrom(state, tenant);
        expect.unreachable();
      } catch (err) {
        expect((err as AppError).code).toBe('validation_error');
        expect((err as AppError).message).toMatch(message);
      }
    }
  });
});

describe('launch by image name: resolveImageName', () => {
  const caller = 'tenant-caller';
  const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));
  const system = { id: 'sys', tenantId: null, system: true, createdAt: at(0) };
  const own = (id: string, minute: number) => ({
    id,
    tenantId: caller,
    system: false,
    createdAt: at(minute),
  });
  const publicOf = (id: string, tenantId: string, minute = 1) => ({
    id,
    tenantId,
    system: false,
    createdAt: at(minute),
  });

  it('given a system image and a public image of another tenant with its name, then the system image', () => {
    expect(resolveImageName([publicOf('hijack', 'tenant-a', 5), system], caller)).toEqual({
      kind: 'found',
      id: 'sys',
    });
  });

  it("given the system image and one of the caller's own with its name, then still the system image", () => {
    expect(resolveImageName([own('mine', 9), system], caller)).toEqual({
      kind: 'found',
      id: 'sys',
    });
  });

  it("given the caller's own images and public ones of others, then the caller's newest own image", () => {
    expect(
      resolveImageName([publicOf('theirs', 'tenant-a', 9), own('old', 1), own('new', 2)], caller),
    ).toEqual({ kind: 'found', id: 'new' });
  });

  it('given exactly one public image of another tenant, then that one', () => {
    expect(resolveImageName([publicOf('theirs', 'tenant-a')], caller)).toEqual({
      kind: 'found',
      id: 'theirs',
    });
  });

  it('given public images of several other tenants, then ambiguous, listing every id', () => {
    expect(
      resolveImageName([publicOf('of-a', 'tenant-a', 1), publicOf('of-b', 'tenant-b', 2)], caller),
    ).toEqual({ kind: 'ambiguous', ids: ['of-b', 'of-a'] });
  });

  it('given no candidate, then unknown', () => {
    expect(resolveImageName([], caller)).toEqual({ kind: 'unknown' });
  });

  it('a reserved name is 409 conflict naming it', () => {
    expect(reservedImageNameError('busybox')).toMatchObject({
      code: 'conflict',
      status: 409,
      details: { name: 'busybox' },
    });
    expect(reservedImageNameError('busybox').message).toMatch(/"busybox" is reserved/);
  });
});
