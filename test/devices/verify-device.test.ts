/**
 * The verifier's `device` check on a real chain (issue 13): a receipt of a
 * record signed by the folder's device key is `DEVICE_KEY_UNENROLLED` (warn)
 * until the agency enrolls the device, then `DEVICE_SIGNED`, and after a
 * revocation whose compromise time precedes the anchor, `DEVICE_KEY_REVOKED`;
 * the verdict states the authenticity level each time. Without a pinned
 * registry no enrollment counts.
 */
import { afterAll, expect, it } from 'vitest';
import { agencyKey, openKey } from '../../src/chain/keys.js';
import { createChainVerifier } from '../../src/chain/verifier.js';
import { enrollDevice, revokeDeviceKey } from '../../src/devices/index.js';
import { Liuhen } from '../../src/liuhen.js';
import { verifyReceipt } from '../../src/verify/verify.js';
import { chainFor, deployedFolder, providerFor, stopAll } from '../chain/helpers.js';

afterAll(stopAll);

it('device check: unenrolled → enrolled device-signed → revoked before the anchor', async () => {
  const chain = await chainFor();
  const { dataDir, deployed } = await deployedFolder(chain.rpc, 'JN-CGJ');
  const lh = await Liuhen.open(dataDir);
  const provider = providerFor(chain);
  const registry = deployed.chain.registry!;
  const verifier = createChainVerifier({ provider, trustedRegistries: [registry] });
  const open = createChainVerifier({ provider });
  try {
    const { record } = await lh.recordBody({ event: 'patrol-start' });
    await lh.seal();
    await lh.anchor();
    const receipt = await lh.receipt(record.id);
    const device = (v: Awaited<ReturnType<typeof verifyReceipt>>) => v.checks.find((c) => c.name === 'device');

    let v = await verifyReceipt({ receipt, chain: verifier });
    expect(device(v)).toMatchObject({ status: 'warn', code: 'DEVICE_KEY_UNENROLLED' });
    expect(v.authenticity?.level).toBe('unenrolled-key');
    expect(v.status).toBe('incomplete'); // not notarized yet; the device check never fails a verdict on its own

    const signer = (await openKey(agencyKey(dataDir), chain.chainId)).connect(provider);
    await enrollDevice(registry, signer, {
      agency: 'JN-CGJ',
      deviceId: record.device,
      kind: 'body-camera',
      publicKey: record.sig!.key,
      validFrom: Math.floor(Date.parse(record.capturedAt) / 1000) - 60,
    });
    v = await verifyReceipt({ receipt, chain: verifier });
    expect(device(v)).toMatchObject({ status: 'pass', code: 'DEVICE_SIGNED' });
    expect(v.authenticity).toEqual({ level: 'device-signed', zh: '由登记的执法设备在采集时签名', en: 'signed at capture by the enrolled device' });
    // An unpinned verifier adds no device check (anyone can enroll anything in a registry of their own).
    expect(device(await verifyReceipt({ receipt, chain: open }))).toMatchObject({ status: 'skipped' });

    // Theft noticed later: compromised since before the anchor → every such record is flagged, whatever capturedAt says.
    await revokeDeviceKey(registry, signer, {
      agency: 'JN-CGJ',
      deviceId: record.device,
      keyIndex: 0,
      compromisedAt: receipt.anchor!.timestamp - 1,
      reason: 'stolen',
    });
    v = await verifyReceipt({ receipt, chain: verifier });
    expect(device(v)).toMatchObject({ status: 'warn', code: 'DEVICE_KEY_REVOKED' });
    expect(v.authenticity?.level).toBe('revoked-key');
  } finally {
    verifier.close();
    open.close();
    provider.destroy();
    await lh.close();
  }
}, 300_000);
