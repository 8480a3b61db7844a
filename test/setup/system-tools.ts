/**
 * Vitest global setup: installs the system tools some suites drive (Debian's
 * `ffmpeg`/`ffprobe` for audio and video decoding, `chromium` for the HTML
 * report screenshots) when they are missing, so `npm test` on a fresh machine
 * runs every suite instead of skipping some. Quick no-op when all are present.
 */
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

const TOOLS = ["ffmpeg:ffmpeg", "ffprobe:ffmpeg", "chromium:chromium"];

export default function setup(): void {
  execFileSync("bash", [resolve(import.meta.dirname, "../../scripts/ensure-apt.sh"), ...TOOLS], {
    stdio: ["ignore", "inherit", "inherit"],
  });
}
