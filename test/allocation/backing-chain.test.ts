import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ChainRules, backingChain, MAX_CHAIN_DEPTH, qcow2Backing } from '../../allocation/backing-chain.js';
import { writeQcow2Header } from '../helpers/qcow2-image.js';
import { tempDir } from '../helpers/temp-store.js';

const scratch = tempDir();
const T = scratch.dir;
afterAll(() => scratch.cleanup());

const QCOW2: ChainRules = { format: 'qcow2' };
const layers = (image: string, rules: ChainRules = QCOW2) => backingChain(image, rules).layers;

describe('backingChain', () => {
  it('follows absolute and relative names (relative to the layer that names them) down to a raw base', () => {
    writeFileSync(join(T, 'base.raw'), 'raw bytes, no header');
    writeQcow2Header(join(T, 'snap.qcow2'), join(T, 'base.raw'), 'raw');
    writeQcow2Header(join(T, 'top.qcow2'), 'snap.qcow2', 'qcow2');
    expect(layers(join(T, 'top.qcow2'))).toEqual([join(T, 'snap.qcow2'), join(T, 'base.raw')]);
    expect(layers(join(T, 'snap.qcow2'))).toEqual([join(T, 'base.raw')]);
    expect(layers(join(T, 'base.raw'))).toEqual([]);
  });

  it('reads no header of an image given as raw: a guest-written qcow2 header in a raw disk names nothing (CVE-2010-2237)', () => {
    mkdirSync(join(T, 'guest'), { recursive: true });
    writeQcow2Header(join(T, 'guest', 'disk.img'), '../../../../etc/shadow', 'raw');
    expect(backingChain(join(T, 'guest', 'disk.img'), { format: 'raw' })).toEqual({ layers: [] });
  });

  it('reads a layer as raw unless its parent records qcow2 as its format (no probing below the top)', () => {
    // The base is named without a format: even though its content starts with a qcow2
    // header (a guest wrote it), the chain stops there.
    writeQcow2Header(join(T, 'probed-base.img'), '/etc/shadow', 'raw');
    writeQcow2Header(join(T, 'unformatted-top.qcow2'), 'probed-base.img');
    expect(layers(join(T, 'unformatted-top.qcow2'))).toEqual([join(T, 'probed-base.img')]);
    writeQcow2Header(join(T, 'raw-top.qcow2'), 'probed-base.img', 'raw');
    expect(layers(join(T, 'raw-top.qcow2'))).toEqual([join(T, 'probed-base.img')]);
  });

  it('refuses a layer outside the allowed directories, by name, by .. or through a link; --backing-dir widens them', () => {
    const vm = join(T, 'vm');
    const golden = join(T, 'golden');
    mkdirSync(vm, { recursive: true });
    mkdirSync(golden, { recursive: true });
    writeFileSync(join(golden, 'base.raw'), 'golden');
    writeQcow2Header(join(vm, 'dotdot.qcow2'), '../golden/base.raw', 'raw');
    writeQcow2Header(join(vm, 'shadow.qcow2'), '/etc/shadow', 'raw');
    symlinkSync('/etc', join(vm, 'etc-link'));
    writeQcow2Header(join(vm, 'link.qcow2'), 'etc-link/shadow', 'raw');
    for (const image of ['dotdot.qcow2', 'shadow.qcow2', 'link.qcow2']) {
      const chain = backingChain(join(vm, image), QCOW2);
      expect(chain.layers).toEqual([]);
      expect(chain.refused?.reason).toMatch(/outside the allowed directories/);
    }
    expect(backingChain(join(vm, 'link.qcow2'), QCOW2).refused?.resolved).toBe('/etc/shadow');
    expect(layers(join(vm, 'dotdot.qcow2'), { format: 'qcow2', allowedDirs: [vm, golden] })).toEqual([
      join(golden, 'base.raw'),
    ]);
    // A deeper layer is held to the same directories as the top's.
    writeQcow2Header(join(golden, 'mid.qcow2'), '/etc/shadow', 'raw');
    writeQcow2Header(join(vm, 'two.qcow2'), '../golden/mid.qcow2', 'qcow2');
    const two = backingChain(join(vm, 'two.qcow2'), { format: 'qcow2', allowedDirs: [vm, golden] });
    expect(two.layers).toEqual([join(golden, 'mid.qcow2')]);
    expect(two.refused?.resolved).toBe('/etc/shadow');
  });

  it('reads file: names as local files and stops at network layers and json: names', () => {
    writeQcow2Header(join(T, 'file-proto.qcow2'), `file:${join(T, 'base.raw')}`, 'raw');
    expect(layers(join(T, 'file-proto.qcow2'))).toEqual([join(T, 'base.raw')]);
    for (const name of ['nbd://nbd.example.org/golden', 'rbd:pool/golden', 'json:{"file.driver":"https"}']) {
      writeQcow2Header(join(T, 'net.qcow2'), name, 'qcow2');
      expect(layers(join(T, 'net.qcow2'))).toEqual([]);
    }
  });

  it('stops at a missing layer (the layers found so far are kept) and never loops', () => {
    writeQcow2Header(join(T, 'orphan.qcow2'), 'gone.qcow2', 'qcow2');
    expect(layers(join(T, 'orphan.qcow2'))).toEqual([join(T, 'gone.qcow2')]);
    writeQcow2Header(join(T, 'a.qcow2'), 'b.qcow2', 'qcow2');
    writeQcow2Header(join(T, 'b.qcow2'), 'a.qcow2', 'qcow2');
    expect(layers(join(T, 'a.qcow2'))).toEqual([join(T, 'b.qcow2')]);
    writeQcow2Header(join(T, 'self.qcow2'), 'self.qcow2', 'qcow2');
    expect(layers(join(T, 'self.qcow2'))).toEqual([]);
  });

  it('is bounded in depth', () => {
    const depth = MAX_CHAIN_DEPTH + 5;
    for (let i = 0; i < depth; i++) writeQcow2Header(join(T, `deep${i}.qcow2`), `deep${i + 1}.qcow2`, 'qcow2');
    expect(layers(join(T, 'deep0.qcow2'))).toHaveLength(MAX_CHAIN_DEPTH);
  });

  it('reads no name from cut-short or absurd headers', () => {
    writeFileSync(join(T, 'short.qcow2'), Buffer.from('QFI\xfb\0\0\0\x03', 'latin1'));
    expect(qcow2Backing(join(T, 'short.qcow2'))).toBeNull();
    writeQcow2Header(join(T, 'huge.qcow2'), 'x');
    const huge = readFileSync(join(T, 'huge.qcow2'));
    huge.writeUInt32BE(1 << 20, 16);
    writeFileSync(join(T, 'huge.qcow2'), huge);
    expect(qcow2Backing(join(T, 'huge.qcow2'))).toBeNull();
    huge.writeUInt32BE(50, 16); // names more bytes than the file holds
    writeFileSync(join(T, 'huge.qcow2'), huge);
    expect(qcow2Backing(join(T, 'huge.qcow2'))).toBeNull();
    expect(qcow2Backing(join(T, 'no-such-file'))).toBeNull();
  });

  it('reads no format from a cut-short or looping extension area', () => {
    writeQcow2Header(join(T, 'ext.qcow2'), 'base.raw', 'qcow2');
    const image = readFileSync(join(T, 'ext.qcow2'));
    image.writeUInt32BE(0xffffff00, 108); // an extension longer than the area
    writeFileSync(join(T, 'ext.qcow2'), image);
    expect(qcow2Backing(join(T, 'ext.qcow2'))).toEqual({ name: 'base.raw', format: undefined });
  });

  const noQemuImg = spawnSync('qemu-img', ['--version']).error
    ? 'qemu-img is not installed (apt-get install qemu-utils)'
    : undefined;
  if (noQemuImg) console.log(`skipped: backing chain of real qemu-img images: ${noQemuImg}`);
  it.runIf(!noQemuImg)('reads the chain and the formats qemu-img wrote (qcow2 on qcow2 on raw)', () => {
    const img = (args: string[]) => execFileSync('qemu-img', ['create', ...args], { stdio: 'ignore' });
    img(['-f', 'raw', join(T, 'real-base.img'), '1M']);
    img(['-f', 'qcow2', '-b', join(T, 'real-base.img'), '-F', 'raw', join(T, 'real-snap.qcow2')]);
    img(['-f', 'qcow2', '-b', 'real-snap.qcow2', '-F', 'qcow2', join(T, 'real-top.qcow2')]);
    expect(qcow2Backing(join(T, 'real-top.qcow2'))).toEqual({ name: 'real-snap.qcow2', format: 'qcow2' });
    expect(layers(join(T, 'real-top.qcow2'))).toEqual([join(T, 'real-snap.qcow2'), join(T, 'real-base.img')]);
  });
});
