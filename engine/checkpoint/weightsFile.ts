/**
 * A weights file of either format, told apart by its first bytes: safetensors, or a PyTorch
 * checkpoint (a zip, read by the restricted unpickler in pytorchPickle.ts). Both give the
 * same lazy interface.
 */
import * as fs from 'node:fs';
import { CheckpointError } from './errors';
import { isZip, openPytorchCheckpoint } from './pytorchPickle';
import { openSafetensors, type SafetensorsFile } from './safetensors';

export function openWeightsFile(file: string): SafetensorsFile {
  const head = Buffer.alloc(8);
  let n = 0;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      n = fs.readSync(fd, head, 0, 8, 0);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    throw new CheckpointError(file, `cannot open the file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (isZip(head.subarray(0, n))) return openPytorchCheckpoint(file);
  // torch.save before 1.6 wrote bare pickles (protocol 2: 0x80 0x02) with storages after them.
  if (n >= 2 && head[0] === 0x80 && head[1] <= 5) throw new CheckpointError(file, "is a PyTorch checkpoint in the legacy format (before torch 1.6), which is not read; save it again with torch.save (or as safetensors)");
  return openSafetensors(file);
}
