// Type declarations for the untyped codec libraries, only the parts packages/kafka uses.

declare module 'kafkajs-snappy' {
  /** kafkajs' codec factory for snappy (raw or xerial-framed on decompress, raw on compress). */
  const createSnappyCodec: () => {
    compress(encoder: { buffer: Buffer }): Promise<Buffer>;
    decompress(buffer: Buffer): Promise<Buffer>;
  };
  export default createSnappyCodec;
}

declare module 'lz4js' {
  /** Compresses to one LZ4 frame. */
  export function compress(source: Uint8Array): Uint8Array;
  /** Decodes one LZ4 block from `source[start, start + length)` into `target` at `targetStart`; returns the end index in `target`. */
  export function decompressBlock(source: Uint8Array, target: Uint8Array, start: number, length: number, targetStart: number): number;
  const lz4: { compress: typeof compress; decompressBlock: typeof decompressBlock };
  export default lz4;
}
