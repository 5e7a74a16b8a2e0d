/**
 * Nothing half-written: a step writes every output into a staging folder beside its destination
 * and moves the finished entries into place only at the end (same file system, so each move is a rename).
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { stringify } from "csv-stringify/sync";

export class StagedOutput {
  private constructor(
    readonly targetDir: string,
    readonly stagingDir: string,
    /** The first folder this step created on the way to targetDir, removed again on abort. */
    private readonly created: string | undefined,
  ) {}

  static async begin(targetDir: string): Promise<StagedOutput> {
    const created = await fs.mkdir(targetDir, { recursive: true });
    const stagingDir = path.join(targetDir, `.staging-${process.pid}-${randomBytes(3).toString("hex")}`);
    await fs.mkdir(stagingDir);
    return new StagedOutput(targetDir, stagingDir, created);
  }

  /** A path inside the staging folder (its parent folder is created). */
  async path(rel: string): Promise<string> {
    const p = path.join(this.stagingDir, rel);
    await fs.mkdir(path.dirname(p), { recursive: true });
    return p;
  }

  /** Move the named top-level entries into the destination, replacing earlier versions; drop the rest. */
  async commit(entries: string[]): Promise<string[]> {
    const moved: string[] = [];
    const old = path.join(this.stagingDir, ".replaced");
    await fs.mkdir(old, { recursive: true });
    for (const entry of entries) {
      const from = path.join(this.stagingDir, entry);
      const to = path.join(this.targetDir, entry);
      await fs.rename(to, path.join(old, entry)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "ENOENT") throw e;
      });
      await fs.rename(from, to);
      moved.push(to);
    }
    await fs.rm(this.stagingDir, { recursive: true, force: true });
    return moved;
  }

  /** Drop everything staged; a destination folder this step created is removed too, so nothing is left. */
  async abort(): Promise<void> {
    await fs.rm(this.stagingDir, { recursive: true, force: true });
    if (this.created) await fs.rm(this.created, { recursive: true, force: true });
  }
}

/** A file's text, or null when it does not exist (other read errors throw). */
export async function readTextIfExists(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

/** Write a file via a temporary sibling and a rename (`dirExists`: the caller knows its folder is there). */
export async function writeFileAtomic(file: string, data: string | Buffer, opts: { dirExists?: boolean } = {}): Promise<void> {
  if (!opts.dirExists) await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(3).toString("hex")}.tmp`;
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

export async function writeJson(file: string, value: unknown): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n");
}

export async function writeCsv(file: string, rows: Record<string, unknown>[], columns: string[]): Promise<void> {
  await writeFileAtomic(file, stringify(rows, { header: true, columns }));
}
