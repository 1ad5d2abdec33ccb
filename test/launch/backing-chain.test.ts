import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backingChain, MAX_CHAIN_DEPTH, qcow2BackingName } from '../../launch/backing-chain.js';
import { writeQcow2Header } from '../helpers/qcow2-image.js';
import { tempDir } from '../helpers/temp-store.js';

const scratch = tempDir();
const T = scratch.dir;
afterAll(() => scratch.cleanup());

describe('backingChain', () => {
  it('follows absolute and relative names (relative to the layer that names them) down to a raw base', () => {
    writeFileSync(join(T, 'base.raw'), 'raw bytes, no header');
    writeQcow2Header(join(T, 'snap.qcow2'), join(T, 'base.raw'));
    writeQcow2Header(join(T, 'top.qcow2'), 'snap.qcow2');
    expect(backingChain(join(T, 'top.qcow2'))).toEqual([join(T, 'snap.qcow2'), join(T, 'base.raw')]);
    expect(backingChain(join(T, 'snap.qcow2'))).toEqual([join(T, 'base.raw')]);
    expect(backingChain(join(T, 'base.raw'))).toEqual([]);
  });

  it('reads file: names as local files and stops at network layers and json: names', () => {
    writeQcow2Header(join(T, 'file-proto.qcow2'), `file:${join(T, 'base.raw')}`);
    expect(backingChain(join(T, 'file-proto.qcow2'))).toEqual([join(T, 'base.raw')]);
    for (const name of ['nbd://nbd.example.org/golden', 'rbd:pool/golden', 'json:{"file.driver":"https"}']) {
      writeQcow2Header(join(T, 'net.qcow2'), name);
      expect(backingChain(join(T, 'net.qcow2'))).toEqual([]);
    }
  });

  it('stops at a missing layer (the layers found so far are kept) and never loops', () => {
    writeQcow2Header(join(T, 'orphan.qcow2'), 'gone.qcow2');
    expect(backingChain(join(T, 'orphan.qcow2'))).toEqual([join(T, 'gone.qcow2')]);
    writeQcow2Header(join(T, 'a.qcow2'), 'b.qcow2');
    writeQcow2Header(join(T, 'b.qcow2'), 'a.qcow2');
    expect(backingChain(join(T, 'a.qcow2'))).toEqual([join(T, 'b.qcow2')]);
    writeQcow2Header(join(T, 'self.qcow2'), 'self.qcow2');
    expect(backingChain(join(T, 'self.qcow2'))).toEqual([]);
  });

  it('is bounded in depth', () => {
    const depth = MAX_CHAIN_DEPTH + 5;
    for (let i = 0; i < depth; i++) writeQcow2Header(join(T, `deep${i}.qcow2`), `deep${i + 1}.qcow2`);
    expect(backingChain(join(T, 'deep0.qcow2'))).toHaveLength(MAX_CHAIN_DEPTH);
  });

  it('reads no name from cut-short or absurd headers', () => {
    writeFileSync(join(T, 'short.qcow2'), Buffer.from('QFI\xfb\0\0\0\x03', 'latin1'));
    expect(qcow2BackingName(join(T, 'short.qcow2'))).toBeNull();
    writeQcow2Header(join(T, 'huge.qcow2'), 'x');
    const huge = readFileSync(join(T, 'huge.qcow2'));
    huge.writeUInt32BE(1 << 20, 16);
    writeFileSync(join(T, 'huge.qcow2'), huge);
    expect(qcow2BackingName(join(T, 'huge.qcow2'))).toBeNull();
    huge.writeUInt32BE(50, 16); // names more bytes than the file holds
    writeFileSync(join(T, 'huge.qcow2'), huge);
    expect(qcow2BackingName(join(T, 'huge.qcow2'))).toBeNull();
    expect(qcow2BackingName(join(T, 'no-such-file'))).toBeNull();
  });

  const noQemuImg = spawnSync('qemu-img', ['--version']).error
    ? 'qemu-img is not installed (apt-get install qemu-utils)'
    : undefined;
  if (noQemuImg) console.log(`skipped: backing chain of real qemu-img images: ${noQemuImg}`);
  it.runIf(!noQemuImg)('reads the chain qemu-img wrote (qcow2 on qcow2 on raw)', () => {
    const img = (args: string[]) => execFileSync('qemu-img', ['create', ...args], { stdio: 'ignore' });
    img(['-f', 'raw', join(T, 'real-base.img'), '1M']);
    img(['-f', 'qcow2', '-b', join(T, 'real-base.img'), '-F', 'raw', join(T, 'real-snap.qcow2')]);
    img(['-f', 'qcow2', '-b', 'real-snap.qcow2', '-F', 'qcow2', join(T, 'real-top.qcow2')]);
    expect(backingChain(join(T, 'real-top.qcow2'))).toEqual([join(T, 'real-snap.qcow2'), join(T, 'real-base.img')]);
  });
});
