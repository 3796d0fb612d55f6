/**
 * A child process for crash tests: journals records (and optionally seals) as
 * fast as it can, printing `ack <id> <leaf>` only after each append resolved,
 * and `sealed <root> <size>` after each seal. The parent kills it with SIGKILL.
 */
import { Journal } from '../../src/journal/journal.js';
import { DeviceKey } from '../../src/record/device-key.js';

const [dir, mode] = process.argv.slice(2) as [string, 'record' | 'seal'];
const journal = await Journal.open(dir);
const keys = [DeviceKey.generate(), DeviceKey.generate(), DeviceKey.generate()];
const devices = ['cam-a', 'cam-b', 'cam-c'];
process.stdout.write('ready\n');

let n = 0;
async function appendOne(): Promise<void> {
  const i = n++ % 3;
  const r = await journal.append(
    { agency: i === 2 ? 'AG-2' : 'AG-1', device: devices[i]!, officer: 'O-1', kind: 'event', body: { n }, capturedAt: new Date().toISOString() },
    keys[i]!,
  );
  process.stdout.write(`ack ${r.record.id} ${r.leaf}\n`);
}

// 32 writers over 3 devices: runs of ~10 records per device, so the signing threads are in play when the child dies.
const writers = Array.from({ length: 32 }, async () => {
  for (;;) await appendOne();
});
if (mode === 'seal') {
  void (async () => {
    for (;;) {
      for (const b of await journal.sealAll({ maxBatchSize: 50 })) process.stdout.write(`sealed ${b.root} ${b.size}\n`);
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
}
await Promise.all(writers);
