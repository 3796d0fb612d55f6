/** Failpoints: off unless enabled; `throw` throws, `kill` kills (checked in a child); the env variable is parsed strictly. */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { clearFailpoints, disableFailpoint, enableFailpoint, failpoint, FailpointError, FAILPOINTS_ENV, parseFailpoints } from '../../src/util/failpoints.js';

afterEach(clearFailpoints);

describe('failpoints', () => {
  it('do nothing unless enabled', () => {
    expect(() => failpoint('anchor.after-sign')).not.toThrow();
  });

  it('throw when enabled with throw, until disabled', () => {
    enableFailpoint('cosign.after-sign', 'throw');
    expect(() => failpoint('cosign.after-sign')).toThrow(FailpointError);
    expect(() => failpoint('anchor.after-sign')).not.toThrow();
    disableFailpoint('cosign.after-sign');
    expect(() => failpoint('cosign.after-sign')).not.toThrow();
  });

  it('parse the environment strictly (a typo is an error, not a silently disabled crash test)', () => {
    expect([...parseFailpoints('anchor.after-sign=kill, cosign.after-broadcast=throw')]).toEqual([
      ['anchor.after-sign', 'kill'],
      ['cosign.after-broadcast', 'throw'],
    ]);
    expect([...parseFailpoints('anchor.after-broadcast')]).toEqual([['anchor.after-broadcast', 'kill']]);
    expect(() => parseFailpoints('anchor.after-sing=kill')).toThrow(/unknown failpoint/);
    expect(() => parseFailpoints('anchor.after-sign=explode')).toThrow(/unknown action/);
  });

  it(`kill from ${FAILPOINTS_ENV} SIGKILLs the process at that point`, () => {
    const code = `import { failpoint } from './src/util/failpoints.ts'; console.log('before'); failpoint('anchor.after-broadcast'); console.log('after');`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      env: { ...process.env, [FAILPOINTS_ENV]: 'anchor.after-broadcast=kill' },
      encoding: 'utf8',
    });
    expect(r.signal).toBe('SIGKILL');
    expect(r.stdout).toBe('before\n');
  });
});
