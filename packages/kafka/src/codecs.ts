import { promisify } from 'node:util';
import zlib from 'node:zlib';
import kafkajs from 'kafkajs';
import createSnappyCodec from 'kafkajs-snappy';
import lz4 from 'lz4js';

// kafkajs is CommonJS and these two are not among the names Node detects as named exports.
const { CompressionCodecs, CompressionTypes } = kafkajs;

/** What kafkajs calls to (de)compress a record batch's records. */
export interface CompressionCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const zstdCompress = promisify(zlib.zstdCompress);
const zstdDecompress = promisify(zlib.zstdDecompress);

/** Zstandard with Node's own zlib (Node >= 23.8): no native add-on, nothing downloaded. */
export const zstdCodec: CompressionCodec = {
  compress: (encoder) => zstdCompress(encoder.buffer),
  decompress: (buffer) => zstdDecompress(buffer),
};

/**
 * LZ4 in the LZ4 frame format, as Kafka's Java client (KafkaLZ4BlockOutputStream), librdkafka
 * and kafka-python write it, with lz4js (pure JavaScript) for the blocks. The frame is read here
 * rather than by lz4js.decompress, which misplaces block checksums; header and checksums are
 * skipped, not verified (the broker validated the batch when it was produced).
 */
export const lz4Codec: CompressionCodec = {
  compress: (encoder) => Promise.resolve(Buffer.from(lz4.compress(encoder.buffer))),
  // A thrown error becomes a rejection, as kafkajs expects of a codec.
  decompress: (buffer) =>
    new Promise((resolve) => {
      resolve(decompressLz4Frames(buffer));
    }),
};

const LZ4_MAGIC = 0x184d2204;
const BLOCK_MAX_BYTES: Readonly<Record<number, number>> = { 4: 64 * 1024, 5: 256 * 1024, 6: 1024 * 1024, 7: 4 * 1024 * 1024 };

/** The content of one or more concatenated LZ4 frames (skippable frames are skipped). */
export function decompressLz4Frames(input: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at < input.length) {
    const magic = input.readUInt32LE(at);
    if ((magic & 0xfffffff0) === 0x184d2a50) {
      at += 8 + input.readUInt32LE(at + 4);
      continue;
    }
    if (magic !== LZ4_MAGIC) throw new Error(`lz4: no frame magic at byte ${at}`);
    const flags = input.readUInt8(at + 4);
    if (flags >> 6 !== 1) throw new Error(`lz4: frame version ${flags >> 6} is not 1`);
    const blockChecksum = (flags & 0x10) !== 0;
    const contentSize = (flags & 0x08) !== 0;
    const contentChecksum = (flags & 0x04) !== 0;
    const dictionary = (flags & 0x01) !== 0;
    const blockMaxBytes = BLOCK_MAX_BYTES[(input.readUInt8(at + 5) >> 4) & 0x07];
    if (blockMaxBytes === undefined) throw new Error('lz4: invalid block maximum size');
    // Magic, FLG, BD, optional content size and dictionary id, header checksum.
    at += 4 + 2 + (contentSize ? 8 : 0) + (dictionary ? 4 : 0) + 1;
    for (;;) {
      const word = input.readUInt32LE(at);
      at += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (size > blockMaxBytes || at + size > input.length) throw new Error('lz4: block overruns the frame');
      if ((word & 0x80000000) !== 0) {
        parts.push(input.subarray(at, at + size));
      } else {
        const block = Buffer.alloc(blockMaxBytes);
        const end = lz4.decompressBlock(input, block, at, size, 0);
        parts.push(block.subarray(0, end));
      }
      at += size + (blockChecksum ? 4 : 0);
    }
    at += contentChecksum ? 4 : 0;
  }
  return Buffer.concat(parts);
}

/**
 * Registers snappy (kafkajs-snappy: snappyjs, pure JavaScript, reads Java's xerial framing),
 * LZ4 and zstd with kafkajs, which ships only gzip: without them a compressed batch from another
 * client stops the consumer. Idempotent; kafkajs keeps codecs process-wide.
 */
export function registerCompressionCodecs(): void {
  const codecs = CompressionCodecs as Record<number, () => CompressionCodec>;
  codecs[CompressionTypes.Snappy] = createSnappyCodec;
  codecs[CompressionTypes.LZ4] = () => lz4Codec;
  codecs[CompressionTypes.ZSTD] = () => zstdCodec;
}
