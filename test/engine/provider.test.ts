/** Execution providers: cpu always, GPU providers probed, refused with the fix, or skipped by auto with the reason. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProviderError, resolveProvider } from '../../engine/runtime/provider';

describe('execution providers', () => {
  test('cpu is always available', async () => {
    assert.deepEqual(await resolveProvider('cpu'), { provider: 'cpu' });
  });

  test('auto picks a working provider, and says why when it falls back to the CPU', async () => {
    const r = await resolveProvider('auto');
    assert.ok(['cpu', 'cuda', 'webgpu'].includes(r.provider));
    if (r.provider === 'cpu') assert.match(r.note ?? '', /^runtime\.device auto uses the CPU provider \(cuda: .+; .*webgpu.+\)$/);
    else assert.equal(r.note, undefined);
  });

  for (const device of ['cuda', 'webgpu'] as const) {
    test(`${device}: works here, or is refused with the reason and the fix`, async () => {
      try {
        assert.deepEqual(await resolveProvider(device), { provider: device });
      } catch (e) {
        assert.ok(e instanceof ProviderError, String(e));
        assert.match(e.message, new RegExp(`^the ${device} provider cannot run here \\(.+\\); .*use runtime\\.device: cpu$`));
      }
    });
  }
});
