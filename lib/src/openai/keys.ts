/**
 * API keys: where they come from and how they are kept out of everything the model layer emits.
 *
 * A key comes from an environment variable (default `OPENAI_API_KEY`) or from a file named by a second
 * variable (default `OPENAI_API_KEY_FILE`), never from the repository. Every key handed out is
 * remembered in this process so that `redact` can scrub it from error messages, replies and logs even
 * where the caller no longer holds the key.
 */
import { readFileSync } from "node:fs";
import { ModelUnavailableError } from "../core/errors";

export const REDACTED = "[redacted]";
/** Shorter "keys" are not scrubbed: replacing every occurrence of a two-letter string garbles text. */
const MIN_SECRET_LENGTH = 6;

export interface ResolveApiKeyOptions {
  /** Variable holding the key itself. */
  envVar?: string;
  /** Variable holding the path of a file whose content (trimmed) is the key. */
  fileVar?: string;
  /** The model asking, named in the error. */
  model?: string;
  /** The environment to read (tests); default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

const knownSecrets = new Set<string>();

/** Remember a secret so that `redact` scrubs it from now on (resolveApiKey does this itself). */
export function registerSecret(secret: string): void {
  const s = secret.trim();
  if (s.length >= MIN_SECRET_LENGTH) knownSecrets.add(s);
}

/**
 * The API key from `envVar`, else from the file `fileVar` names (whitespace trimmed).
 * The variable wins when both are set. Throws ModelUnavailableError naming both variables when
 * neither gives a key, or naming the file when it cannot be read or is empty.
 */
export function resolveApiKey(opts: ResolveApiKeyOptions = {}): string {
  const envVar = opts.envVar ?? "OPENAI_API_KEY";
  const fileVar = opts.fileVar ?? "OPENAI_API_KEY_FILE";
  const env = opts.env ?? process.env;
  const model = opts.model ?? "openai";

  const direct = env[envVar]?.trim();
  if (direct) {
    registerSecret(direct);
    return direct;
  }
  const file = env[fileVar]?.trim();
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new ModelUnavailableError(model, `${fileVar}=${file} cannot be read (${code}); point it at a file holding the API key, or set ${envVar}`);
    }
    const key = text.replace(/^\uFEFF/, "").trim();
    if (!key) throw new ModelUnavailableError(model, `${fileVar}=${file} is empty; it must hold the API key`);
    registerSecret(key);
    return key;
  }
  throw new ModelUnavailableError(
    model,
    `no API key: set ${envVar} to the key, or ${fileVar} to the path of a file holding it`,
  );
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Replace every occurrence of each key (the given ones and every key resolved in this process),
 * any `Bearer <token>`, any `api-key: <token>` header text and any password in a URL with `[redacted]`.
 * Used on every error message and reply text that leaves the model layer.
 */
export function redact(text: string, keys: Iterable<string | undefined | null> = []): string {
  const secrets = new Set(knownSecrets);
  for (const k of keys) if (k && k.trim().length >= MIN_SECRET_LENGTH) secrets.add(k.trim());
  let out = text;
  // Longest first, so a key that contains another is replaced whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) {
    out = out.replace(new RegExp(escapeRegExp(s), "g"), REDACTED);
  }
  out = out.replace(/\b(Bearer)\s+(?!\[redacted\])[^\s"',;]+/gi, `$1 ${REDACTED}`);
  out = out.replace(/\b(api[-_]key["']?\s*[:=]\s*["']?)(?!\[redacted\])[^\s"',;]+/gi, `$1${REDACTED}`);
  out = out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, `$1${REDACTED}@`);
  return out;
}
