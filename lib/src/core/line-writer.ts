/**
 * A text file written line by line with backpressure (JSONL and other streamed outputs): one line in
 * memory at a time, so a file of thousands of images writes with flat memory.
 */
import { createWriteStream, promises as fs, type WriteStream } from "node:fs";

/** A text file written line by line with backpressure; `close` resolves to the bytes written. */
export interface LineWriter {
  /** Write `text` (which must not contain a newline for JSONL) followed by "\n". */
  write(text: string): Promise<void>;
  /** Write `text` as is. */
  writeRaw(text: string): Promise<void>;
  close(): Promise<number>;
  /** Stop and delete the partial file. */
  abort(): Promise<void>;
}

export async function openLineWriter(path: string): Promise<LineWriter> {
  const stream: WriteStream = createWriteStream(path, { flags: "w", encoding: "utf8" });
  let failure: Error | null = null;
  stream.on("error", (e) => (failure ??= e));
  await new Promise<void>((resolve, reject) => {
    stream.once("open", () => resolve());
    stream.once("error", reject);
  });
  let bytes = 0;
  const writeRaw = async (text: string): Promise<void> => {
    if (failure) throw failure;
    bytes += Buffer.byteLength(text, "utf8");
    if (!stream.write(text)) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          stream.off("error", onError);
          resolve();
        };
        const onError = (e: Error) => {
          stream.off("drain", onDrain);
          reject(e);
        };
        stream.once("drain", onDrain);
        stream.once("error", onError);
      });
    }
  };
  return {
    writeRaw,
    write: (text) => writeRaw(text + "\n"),
    close: () =>
      new Promise<number>((resolve, reject) => {
        if (failure) return reject(failure);
        stream.once("error", reject);
        // wait for "close" (not just "finish") so the file can be renamed at once, on any platform
        stream.once("close", () => (failure ? reject(failure) : resolve(bytes)));
        stream.end();
      }),
    abort: async () => {
      await new Promise<void>((resolve) => {
        if (stream.destroyed) return resolve();
        stream.once("close", () => resolve());
        stream.destroy();
      });
      await fs.rm(path, { force: true });
    },
  };
}
