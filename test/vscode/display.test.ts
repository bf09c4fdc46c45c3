/** The integration suite runs where VS Code can open a window, under xvfb-run where it can, and is skipped with the reason elsewhere. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { displayPlan, onPath, UNDER_XVFB } from './display';

describe('displayPlan', () => {
  test('a display is used as it is (X or Wayland); other platforms always have one', () => {
    assert.deepEqual(displayPlan('linux', { DISPLAY: ':0' }, undefined), { kind: 'direct' });
    assert.deepEqual(displayPlan('linux', { WAYLAND_DISPLAY: 'wayland-0' }, undefined), { kind: 'direct' });
    assert.deepEqual(displayPlan('darwin', {}, undefined), { kind: 'direct' });
    assert.deepEqual(displayPlan('win32', {}, undefined), { kind: 'direct' });
  });

  test('Linux without a display: xvfb-run when installed, else skipped saying why', () => {
    assert.deepEqual(displayPlan('linux', {}, '/usr/bin/xvfb-run'), { kind: 'xvfb', xvfbRun: '/usr/bin/xvfb-run' });
    const skip = displayPlan('linux', { DISPLAY: '' }, undefined);
    assert.equal(skip.kind, 'skip');
    assert.match(skip.kind === 'skip' ? skip.reason : '', /DISPLAY and WAYLAND_DISPLAY are unset and xvfb-run is not installed/);
  });

  test('under xvfb-run without a display: skipped, not run again', () => {
    assert.equal(displayPlan('linux', { [UNDER_XVFB]: '1' }, '/usr/bin/xvfb-run').kind, 'skip');
  });

  test('onPath finds executables only', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onpath-'));
    try {
      fs.writeFileSync(path.join(dir, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
      fs.writeFileSync(path.join(dir, 'data'), '', { mode: 0o644 });
      if (process.platform !== 'win32') {
        assert.equal(onPath('tool', dir), path.join(dir, 'tool'));
        assert.equal(onPath('data', dir), undefined);
      }
      assert.equal(onPath('no-such-tool', dir), undefined);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
