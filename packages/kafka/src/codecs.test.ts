import assert from 'node:assert/strict';
import { test } from 'node:test';
import zlib from 'node:zlib';
import kafkajs from 'kafkajs';
import { decompressLz4Frames, lz4Codec, registerCompressionCodecs, zstdCodec, type CompressionCodec } from './codecs.ts';

// kafkajs is CommonJS and these two are not among the names Node detects as named exports.
const { CompressionCodecs, CompressionTypes } = kafkajs;

const text = Buffer.from('{"user_id":"u1","timestamp":"2024-05-01T10:00:00Z","url":"/a"}\n'.repeat(2_000));
const u32le = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
const u32be = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

registerCompressionCodecs();
const codec = (type: number): CompressionCodec => {
  const factory = (CompressionCodecs as Record<number, (() => CompressionCodec) | undefined>)[type];
  assert.ok(factory, `a codec is registered for type ${type}`);
  return factory();
};

await test('when each registered codec compresses a batch, then it decompresses to the same bytes', async (t) => {
  for (const [name, type] of [
    ['gzip', CompressionTypes.GZIP],
    ['snappy', CompressionTypes.Snappy],
    ['lz4', CompressionTypes.LZ4],
    ['zstd', CompressionTypes.ZSTD],
  ] as const) {
    await t.test(name, async () => {
      const compressed = await codec(type).compress({ buffer: text });
      assert.ok(compressed.length < text.length / 5, `${name} compresses (${compressed.length} bytes)`);
      assert.deepEqual(await codec(type).decompress(compressed), text);
    });
  }
});

await test('when snappy arrives in xerial framing (Java clients), then every block is read in order', async () => {
  const snappy = codec(CompressionTypes.Snappy);
  const [first, second] = [text.subarray(0, 50_000), text.subarray(50_000)];
  const blocks = await Promise.all([first, second].map((part) => snappy.compress({ buffer: part })));
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const framed = Buffer.concat([header, ...blocks.flatMap((b) => [u32be(b.length), b])]);
  assert.deepEqual(await snappy.decompress(framed), text);
});

/** An LZ4 frame with stored (uncompressed) blocks and the given optional parts, built by hand. */
function storedFrame(parts: Buffer[], options: { blockChecksum?: boolean; contentSize?: boolean; contentChecksum?: boolean }): Buffer {
  const flags = 0x40 | 0x20 | (options.blockChecksum ? 0x10 : 0) | (options.contentSize ? 0x08 : 0) | (options.contentChecksum ? 0x04 : 0);
  const header = [u32le(0x184d2204), Buffer.from([flags, 0x40])];
  if (options.contentSize) header.push(Buffer.alloc(8));
  header.push(Buffer.from([0xaa])); // header checksum: not verified
  const blocks = parts.flatMap((p) => [u32le(0x80000000 | p.length), p, ...(options.blockChecksum ? [Buffer.from('ssss')] : [])]);
  return Buffer.concat([...header, ...blocks, u32le(0), ...(options.contentChecksum ? [Buffer.from('cccc')] : [])]);
}

const lz4Frames: ReadonlyArray<{ when: string; frame: () => Buffer; content: Buffer }> = [
  {
    when: 'blocks are stored uncompressed',
    frame: () => storedFrame([Buffer.from('ab'), Buffer.from('cd')], {}),
    content: Buffer.from('abcd'),
  },
  {
    when: 'blocks carry checksums (after the data)',
    frame: () => storedFrame([Buffer.from('ab'), Buffer.from('cd')], { blockChecksum: true }),
    content: Buffer.from('abcd'),
  },
  {
    when: 'the frame has a content size and a content checksum',
    frame: () => storedFrame([Buffer.from('xyz')], { contentSize: true, contentChecksum: true }),
    content: Buffer.from('xyz'),
  },
  {
    when: 'a skippable frame comes first and two frames follow',
    frame: () =>
      Buffer.concat([
        u32le(0x184d2a5f),
        u32le(3),
        Buffer.from('zzz'),
        storedFrame([Buffer.from('a')], {}),
        storedFrame([Buffer.from('b')], {}),
      ]),
    content: Buffer.from('ab'),
  },
  { when: 'the frame is empty', frame: () => storedFrame([], {}), content: Buffer.alloc(0) },
];

await test('decompressLz4Frames', async (t) => {
  for (const { when, frame, content } of lz4Frames) {
    await t.test(`when ${when}, then the content is read`, () => {
      assert.deepEqual(decompressLz4Frames(frame()), content);
    });
  }
});

const brokenLz4: ReadonlyArray<{ when: string; input: Buffer }> = [
  { when: 'the magic number is wrong', input: Buffer.from('not an lz4 frame') },
  {
    when: 'a block claims more bytes than the frame has',
    input: Buffer.concat([u32le(0x184d2204), Buffer.from([0x60, 0x40, 0]), u32le(0x80000010), Buffer.from('ab')]),
  },
  { when: 'the frame ends before its end mark', input: Buffer.concat([u32le(0x184d2204), Buffer.from([0x60, 0x40, 0])]) },
];

await test('when an lz4 frame is broken, then decompression throws instead of returning wrong bytes', async (t) => {
  for (const { when, input } of brokenLz4) {
    await t.test(when, async () => {
      await assert.rejects(lz4Codec.decompress(input));
    });
  }
});

await test("when zstd comes from Node's zlib, then the codec reads it", async () => {
  assert.deepEqual(await zstdCodec.decompress(zlib.zstdCompressSync(text)), text);
});
