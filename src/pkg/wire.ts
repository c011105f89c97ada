// Pieces on the wire: zstd (Content-Encoding: zstd) when the other side accepts it and it pays, raw
// bytes otherwise. Used by the origin (server), by agents serving peers, and by `tiffin pkg push`.
// Whether compression pays is remembered per piece hash, so an incompressible piece served many times
// is compressed at most once; compressed bodies of recent pieces are kept (bounded) for the same reason.

import zlib from "node:zlib";
import { PieceSize } from "./manifest.ts";

/** The content-encoding pieces travel in when compressed. */
export const PieceEncoding = "zstd";

/** A compressed body must be at most this fraction of the raw one to be sent instead. */
const PaysRatio = 0.9;

/** Whether an Accept-Encoding header value lists zstd. */
export function acceptsZstd(header: string | string[] | undefined): boolean {
  const v = Array.isArray(header) ? header.join(",") : (header ?? "");
  return v.split(",").some((part) => {
    const [name = "", ...params] = part.trim().toLowerCase().split(";");
    return name.trim() === PieceEncoding && !params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p));
  });
}

/** zstd-compresses `data` at a fast level; null when the result would not be worth sending. */
export function compressPiece(data: Uint8Array): Buffer | null {
  const z = zlib.zstdCompressSync(data, { params: { [zlib.constants.ZSTD_c_compressionLevel]: 3 } });
  return z.length <= data.length * PaysRatio ? z : null;
}

/** The raw piece from a body and its Content-Encoding (none or zstd), never more than `maxBytes`
 * (a small body must not inflate into gigabytes). Not verified here: callers hash the result. */
export function decodePiece(body: Buffer, encoding: string | string[] | undefined, maxBytes: number = PieceSize): Buffer | { error: string } {
  const enc = (Array.isArray(encoding) ? encoding.join(",") : (encoding ?? "")).trim().toLowerCase();
  if (enc === "" || enc === "identity") return body.length <= maxBytes ? body : { error: `piece body of ${body.length} bytes is over ${maxBytes}` };
  if (enc !== PieceEncoding) return { error: `unsupported content-encoding ${JSON.stringify(enc)} (zstd or none)` };
  try {
    return zlib.zstdDecompressSync(body, { maxOutputLength: maxBytes });
  } catch (err) {
    return { error: `bad zstd body: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Chooses the body of a piece response, remembering per hash whether compression pays. */
export class PieceEncoder {
  readonly #noGain = new Set<string>();
  readonly #recent = new Map<string, Buffer>();
  #recentBytes = 0;
  readonly #maxRecentBytes: number;

  /** `maxRecentBytes`: compressed bodies kept for pieces served again. @default 32 MiB */
  constructor(maxRecentBytes = 32 * 1024 * 1024) {
    this.#maxRecentBytes = maxRecentBytes;
  }

  /** The body to send for piece `hash` and its encoding (null: raw). */
  encode(hash: string, data: Buffer, acceptsCompressed: boolean): { body: Buffer; encoding: string | null } {
    if (!acceptsCompressed || this.#noGain.has(hash)) return { body: data, encoding: null };
    let z = this.#recent.get(hash);
    if (z === undefined) {
      const c = compressPiece(data);
      if (c === null) {
        if (this.#noGain.size > 100_000) this.#noGain.clear();
        this.#noGain.add(hash);
        return { body: data, encoding: null };
      }
      z = c;
      this.#remember(hash, z);
    }
    return { body: z, encoding: PieceEncoding };
  }

  /** What a fetcher learnt from a piece it received after offering zstd: sent raw, compression did
   * not pay for the sender (the same bytes will not pay here); sent compressed, that body is kept for
   * serving it on without compressing again. */
  learn(hash: string, body: Buffer, encoding: string | null): void {
    if (encoding === PieceEncoding) this.#remember(hash, body);
    else if (encoding === null) {
      if (this.#noGain.size > 100_000) this.#noGain.clear();
      this.#noGain.add(hash);
    }
  }

  #remember(hash: string, z: Buffer): void {
    if (z.length > this.#maxRecentBytes) return;
    this.#recent.set(hash, z);
    this.#recentBytes += z.length;
    for (const [h, b] of this.#recent) {
      if (this.#recentBytes <= this.#maxRecentBytes) break;
      this.#recent.delete(h);
      this.#recentBytes -= b.length;
    }
  }
}
